import Foundation
import CPNG
import BitViTCore

/// Encodes 8-bit RGB images as PNG with libpng.
public enum PNGEncoder {
    /// PNG bytes of `canvas`.
    public static func encode(_ canvas: RasterCanvas) throws -> Data {
        guard let png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, nil, nil) else {
            throw BitViTError.io("libpng: cannot create a write structure")
        }
        var pngOptional: png_structp? = png
        guard let info = png_create_info_struct(png) else {
            png_destroy_write_struct(&pngOptional, nil)
            throw BitViTError.io("libpng: cannot create an info structure")
        }
        var infoOptional: png_infop? = info
        defer { png_destroy_write_struct(&pngOptional, &infoOptional) }
        // libpng reports errors by longjmp, which Swift cannot catch; the inputs here are
        // always valid (sizes checked, memory output), so no error path can be taken.
        final class Sink { var data = Data() }
        let sink = Sink()
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        png_set_write_fn(png, sinkPointer, { png, bytes, length in
            guard let png, let bytes, let target = png_get_io_ptr(png) else { return }
            Unmanaged<Sink>.fromOpaque(target).takeUnretainedValue().data.append(bytes, count: length)
        }, nil)
        png_set_IHDR(png, info, png_uint_32(canvas.width), png_uint_32(canvas.height), 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT)
        png_write_info(png, info)
        var pixels = canvas.pixels
        pixels.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<canvas.height {
                png_write_row(png, buffer.baseAddress! + row * canvas.width * 3)
            }
        }
        png_write_end(png, nil)
        withExtendedLifetime(sink) {}
        return sink.data
    }
}
