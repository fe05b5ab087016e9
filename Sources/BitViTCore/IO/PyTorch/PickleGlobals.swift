/// What the restricted pickle interpreter makes of the classes and functions a pickle names.
///
/// Names it interprets (tensor rebuild functions, storage types, dtypes, `OrderedDict`, sets,
/// byte strings) build the corresponding value without running anything. Names from modules
/// whose functions run commands or code, import modules or touch files and sockets are refused
/// outright, so a hostile file gets a clear error. Every other name becomes an inert
/// `PickleRecord`: the interpreter never imports, resolves or calls a name.
enum PickleGlobals {
    enum Meaning {
        case orderedDict
        case rebuildTensor(version: Int)
        case rebuildParameter(withState: Bool)
        case rebuildFromType
        case unsupportedTensor(String)
        case set
        case bytes
        case codecsEncode
        case torchSize
        case reconstructor
        case newObject
        /// nil: a storage type BitViT cannot read (complex, quantized).
        case storageType(StoredDType?)
        case dtype(StoredDType)
    }

    static func meaning(of g: PickleGlobal) -> Meaning? {
        switch (g.module, g.name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor(version: 1)
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor(version: 2)
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensor(version: 3)
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter(withState: false)
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameter(withState: true)
        case ("torch._tensor", "_rebuild_from_type_v2"): return .rebuildFromType
        case ("builtins", "set"), ("builtins", "frozenset"), ("__builtin__", "set"), ("__builtin__", "frozenset"):
            return .set
        case ("builtins", "bytearray"), ("builtins", "bytes"), ("__builtin__", "bytearray"): return .bytes
        case ("_codecs", "encode"): return .codecsEncode
        case ("torch", "Size"): return .torchSize
        case ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"): return .reconstructor
        case ("copyreg", "__newobj__"), ("copy_reg", "__newobj__"): return .newObject
        default: break
        }
        if g.module == "torch._utils", g.name.hasPrefix("_rebuild_") {
            return .unsupportedTensor(g.name)
        }
        if g.module == "torch" || g.module == "torch.cuda" || g.module == "torch.storage" {
            if let storage = storageTypes[g.name] { return .storageType(storage) }
            if g.name == "UntypedStorage" { return .storageType(.uint8) }
        }
        if g.module == "torch", let dtype = dtypes[g.name] { return .dtype(dtype) }
        return nil
    }

    /// Why a name is refused, or nil when it may appear (interpreted or as an inert record).
    static func refusal(of g: PickleGlobal) -> String? {
        let root = String(g.module.split(separator: ".", maxSplits: 1).first ?? "")
        if root == "builtins" || root == "__builtin__" {
            return harmlessBuiltins.contains(g.name) ? nil
                : "the builtin '\(g.name)' can run code or reach the system"
        }
        if refusedModules.contains(root) {
            return "module '\(root)' runs commands or code, imports modules or touches files and sockets"
        }
        if g.module.hasPrefix("numpy.testing") || g.module.hasPrefix("numpy.f2py") || g.module.hasPrefix("numpy.distutils")
            || (g.module.hasPrefix("torch") && (g.name == "load" || g.module.hasPrefix("torch.hub") || g.module.hasPrefix("torch.jit"))) {
            return "'\(g)' loads or runs code"
        }
        return nil
    }

    private static let harmlessBuiltins: Set<String> = [
        "set", "frozenset", "bytearray", "bytes", "complex", "slice", "range", "object",
        "int", "float", "str", "bool", "list", "dict", "tuple",
    ]

    private static let refusedModules: Set<String> = [
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "sys", "importlib", "imp",
        "runpy", "shutil", "socket", "ctypes", "code", "codeop", "pty", "pickle", "_pickle", "cPickle",
        "marshal", "types", "functools", "operator", "webbrowser", "pdb", "bdb", "timeit", "commands",
        "platform", "multiprocessing", "signal", "threading", "_thread", "asyncio", "tempfile", "io", "_io",
        "pathlib", "glob", "urllib", "http", "ftplib", "smtplib", "telnetlib", "ssl", "select", "mmap",
        "gc", "inspect", "dill", "cloudpickle", "joblib", "pip", "setuptools", "distutils", "zipimport",
        "site", "linecache", "logging", "unittest", "doctest", "sqlite3", "shelve", "dbm", "resource",
        "fcntl", "termios", "ensurepip", "venv", "xmlrpc", "trace", "profile", "cProfile",
    ]

    /// `torch.<Name>Storage` types of `torch.save`, by element type; complex and quantized
    /// storages are recognized so they can be refused by name.
    private static let storageTypes: [String: StoredDType?] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16,
        "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
        "ComplexFloatStorage": nil, "ComplexDoubleStorage": nil, "QInt8Storage": nil, "QUInt8Storage": nil,
        "QInt32Storage": nil, "QUInt4x2Storage": nil, "QUInt2x4Storage": nil,
    ]

    /// `torch.<dtype>` names, as `_rebuild_tensor_v3` receives them.
    private static let dtypes: [String: StoredDType] = [
        "float32": .float32, "float": .float32, "float16": .float16, "half": .float16, "bfloat16": .bfloat16,
        "float64": .float64, "double": .float64, "int64": .int64, "long": .int64, "int32": .int32, "int": .int32,
        "int16": .int16, "short": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool,
        "uint16": .uint16, "uint32": .uint32, "uint64": .uint64,
    ]
}
