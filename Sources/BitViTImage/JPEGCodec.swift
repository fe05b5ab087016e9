import BitViTPlatform
import CTurboJPEG

/// JPEG decoding and encoding through the TurboJPEG API of libjpeg-turbo.
///
/// TurboJPEG reports failures by return value, so a corrupt or truncated file becomes a thrown
/// error instead of libjpeg's default `exit()`. Decoding uses libjpeg's defaults (accurate
/// integer IDCT, fancy upsampling), the same as PIL. Any libjpeg warning (premature end of
/// data, corrupt segment) counts as an error: a damaged training image should be noticed.
enum JPEGCodec {
    /// Decodes a JPEG file's bytes; `file` names the source in errors.
    /// Gray files give one channel, YCbCr/RGB three; CMYK/YCCK (Adobe, inverted) are converted
    /// to RGB as `c·k/255`.
    static func decode(_ bytes: [UInt8], file: String) throws -> Image {
        guard let handle = tjInitDecompress() else {
            throw BitViTError.io("\(file): cannot initialize the JPEG decoder")
        }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let headerStatus = bytes.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count),
                                &width, &height, &subsampling, &colorspace)
        }
        if headerStatus != 0 { throw failure(handle, file: file, stage: "header") }
        guard width > 0, height > 0, Int(width) * Int(height) <= Image.maximumDecodedPixels else {
            throw BitViTError.malformed(file: file, reason: "JPEG size \(width)×\(height) is empty or too large")
        }
        let (pixelFormat, channels): (TJPF, Int)
        switch Int(colorspace) {
        case Int(TJCS_GRAY.rawValue): (pixelFormat, channels) = (TJPF_GRAY, 1)
        case Int(TJCS_CMYK.rawValue), Int(TJCS_YCCK.rawValue): (pixelFormat, channels) = (TJPF_CMYK, 4)
        default: (pixelFormat, channels) = (TJPF_RGB, 3)
        }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
        let status = bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), target.baseAddress,
                              width, 0, height, pixelFormat.rawValue, TJFLAG_STOPONWARNING)
            }
        }
        if status != 0 { throw failure(handle, file: file, stage: "data") }
        if channels == 4 { return rgbFromInvertedCMYK(pixels, height: Int(height), width: Int(width)) }
        return Image(height: Int(height), width: Int(width), channels: channels, pixels: pixels)
    }

    /// Encodes a 1- or 3-channel image as baseline JPEG (4:2:0 for color) at `quality` 1…100.
    static func encode(_ image: Image, quality: Int) throws -> [UInt8] {
        guard image.channels == 1 || image.channels == 3 else {
            throw BitViTError.invalidArgument("JPEG encoding needs 1 or 3 channels, not \(image.channels)")
        }
        guard (1...100).contains(quality) else {
            throw BitViTError.invalidArgument("JPEG quality must be in 1…100, not \(quality)")
        }
        guard let handle = tjInitCompress() else { throw BitViTError.io("cannot initialize the JPEG encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let gray = image.channels == 1
        let status = image.pixels.withUnsafeBufferPointer { source in
            tjCompress2(handle, source.baseAddress, Int32(image.width), 0, Int32(image.height),
                        (gray ? TJPF_GRAY : TJPF_RGB).rawValue, &output, &size,
                        Int32((gray ? TJSAMP_GRAY : TJSAMP_420).rawValue), Int32(quality), 0)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw BitViTError.io("JPEG encoding failed: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    private static func failure(_ handle: tjhandle, file: String, stage: String) -> BitViTError {
        let message = String(cString: tjGetErrorStr2(handle))
        return .malformed(file: file, reason: "corrupt or truncated JPEG (\(stage)): \(message)")
    }

    private static func rgbFromInvertedCMYK(_ cmyk: [UInt8], height: Int, width: Int) -> Image {
        var rgb = [UInt8](repeating: 0, count: height * width * 3)
        for p in 0..<(height * width) {
            let k = UInt32(cmyk[p * 4 + 3])
            for c in 0..<3 { rgb[p * 3 + c] = UInt8((UInt32(cmyk[p * 4 + c]) * k + 127) / 255) }
        }
        return Image(height: height, width: width, channels: 3, pixels: rgb)
    }
}
