import BitViTPlatform
import CPNG

/// PNG decoding and encoding through libpng's simplified API, which reports errors by return
/// value (libpng's classic API longjmps, which Swift cannot survive).
///
/// Every PNG kind is accepted: gray, gray+alpha, RGB, RGBA, palette (with or without
/// transparency) and 1…16-bit samples. Alpha is dropped without compositing, as PIL's
/// `convert("RGB")` does; 16-bit samples are treated as sRGB and rounded to 8 bits.
enum PNGCodec {
    private static let colorFlag = UInt32(PNG_FORMAT_FLAG_COLOR)
    private static let alphaFlag = UInt32(PNG_FORMAT_FLAG_ALPHA)
    /// Pixels one byte of a PNG file can hold at most: 8 one-bit pixels per byte of filtered
    /// data, times deflate's largest compression ratio (1032:1).
    static let maximumPixelsPerFileByte = 8 * 1032

    /// Decodes a PNG file's bytes to a 1-channel (gray sources) or 3-channel (color sources)
    /// image; `file` names the source in errors.
    static func decode(_ bytes: [UInt8], file: String) throws -> Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let began = bytes.withUnsafeBufferPointer { buffer in
            png_image_begin_read_from_memory(&image, buffer.baseAddress, buffer.count)
        }
        guard began != 0 else { throw failure(&image, file: file) }
        defer { png_image_free(&image) }

        let isColor = image.format & colorFlag != 0
        let hasAlpha = image.format & alphaFlag != 0
        // Keep the alpha channel in the read (so libpng does not composite), drop it below.
        image.format = (isColor ? colorFlag : 0) | (hasAlpha ? alphaFlag : 0)
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let readChannels = (isColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height <= Image.maximumDecodedPixels else {
            throw BitViTError.malformed(file: file, reason: "PNG size \(width)×\(height) is empty or too large")
        }
        // Every pixel costs at least one bit of filtered data, which deflate compresses at most
        // 1032:1, so a file this small cannot hold the pixels its header announces: refuse it
        // before allocating them (a 57-byte file declaring 196,608×1,280 would take 1 GB).
        guard width * height <= maximumPixelsPerFileByte * bytes.count else {
            throw BitViTError.malformed(file: file, reason: "truncated PNG: \(bytes.count) bytes cannot hold the \(width)×\(height) pixels its header declares")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * readChannels)
        let finished = pixels.withUnsafeMutableBufferPointer { target in
            png_image_finish_read(&image, nil, target.baseAddress, Int32(width * readChannels), nil)
        }
        guard finished != 0 else { throw failure(&image, file: file) }
        let decoded = Image(height: height, width: width, channels: readChannels, pixels: pixels)
        return hasAlpha ? decoded.converted(toChannels: isColor ? 3 : 1) : decoded
    }

    /// Encodes a 1-, 3- or 4-channel image as an 8-bit PNG.
    static func encode(_ image: Image) throws -> [UInt8] {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        switch image.channels {
        case 1: png.format = 0
        case 3: png.format = colorFlag
        case 4: png.format = colorFlag | alphaFlag
        default: throw BitViTError.invalidArgument("PNG encoding needs 1, 3 or 4 channels, not \(image.channels)")
        }
        defer { png_image_free(&png) }
        let stride = Int32(image.width * image.channels)
        var size = 0
        let measured = image.pixels.withUnsafeBufferPointer { source in
            png_image_write_to_memory(&png, nil, &size, 0, source.baseAddress, stride, nil)
        }
        guard measured != 0, size > 0 else { throw BitViTError.io("PNG encoding failed: \(message(&png))") }
        var output = [UInt8](repeating: 0, count: size)
        let written = image.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                png_image_write_to_memory(&png, target.baseAddress, &size, 0, source.baseAddress, stride, nil)
            }
        }
        guard written != 0 else { throw BitViTError.io("PNG encoding failed: \(message(&png))") }
        return Array(output.prefix(size))
    }

    private static func failure(_ image: inout png_image, file: String) -> BitViTError {
        .malformed(file: file, reason: "corrupt or truncated PNG: \(message(&image))")
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
