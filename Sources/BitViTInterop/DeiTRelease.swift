/// The ImageNet-1k weights of Facebook's DeiT release: the files timm downloads for its DeiT
/// names when a model is created with `pretrained=True`. The official GSB and Q-ViT scripts load
/// their teachers this way (GSB's `train_stage1.py`: `deit_small_patch16_224`; Q-ViT's
/// `main.py`: `deit_small_distilled_patch16_224`), and Q-ViT's paper initializes its students
/// from the distilled DeiT. BitViT never downloads anything: recipes name these files under
/// `pretrained/`, and a run whose file is absent stops saying where to get it.
public enum DeiTRelease {
    /// Where the release's files are published.
    public static let baseURL = "https://dl.fbaipublicfiles.com/deit/"

    /// The release's DeiT files by name, with the model each holds.
    public static let files: [String: String] = [
        "deit_tiny_patch16_224-a1311bcf.pth": "DeiT-Ti (ImageNet-1k, 224)",
        "deit_small_patch16_224-cd65a155.pth": "DeiT-S (ImageNet-1k, 224)",
        "deit_base_patch16_224-b5f2ef4d.pth": "DeiT-B (ImageNet-1k, 224)",
        "deit_base_patch16_384-8de9b5d1.pth": "DeiT-B (ImageNet-1k, 384)",
        "deit_tiny_distilled_patch16_224-b40b3cf7.pth": "distilled DeiT-Ti (ImageNet-1k, 224)",
        "deit_small_distilled_patch16_224-649709d9.pth": "distilled DeiT-S (ImageNet-1k, 224)",
        "deit_base_distilled_patch16_224-df68dfff.pth": "distilled DeiT-B (ImageNet-1k, 224)",
        "deit_base_distilled_patch16_384-d0272ac0.pth": "distilled DeiT-B (ImageNet-1k, 384)",
    ]

    /// The download address of a release file named `fileName` (the last path component of
    /// a recipe's path), or nil when the release has no such file.
    public static func url(forFileNamed fileName: String) -> String? {
        files[fileName] == nil ? nil : baseURL + fileName
    }

    /// What to tell someone whose recipe names `path` when the file is not there: the file's
    /// model and download command when it is a release file, then `otherwise`.
    public static func missingFileAdvice(path: String, otherwise: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let url = url(forFileNamed: name), let model = files[name] else { return otherwise }
        let folder = path.split(separator: "/").dropLast().joined(separator: "/")
        let mkdir = folder.isEmpty ? "" : "mkdir -p \(path.hasPrefix("/") ? "/" : "")\(folder) && "
        return "it is the \(model) of Facebook's DeiT release, which the official code loads through timm: "
            + "download it with `\(mkdir)curl -L -o \(path) \(url)`; or \(otherwise)"
    }
}
