import BitViTCore

/// Swin's window bookkeeping on `[B, R, R, C]` token grids.
enum SwinWindows {
    /// `[B, R, R, C]` → `[B·(R/w)², w·w, C]`: windows in row-major order per image, tokens
    /// row-major inside a window.
    static func partition(_ x: Tensor, window w: Int) -> Tensor {
        let (b, r, c) = (x.shape[0], x.shape[1], x.shape[3])
        return x.reshaped([b, r / w, w, r / w, w, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, w * w, c])
    }

    /// Inverse of `partition`: `[B·(R/w)², w·w, C]` → `[B, R, R, C]`.
    static func merge(_ windows: Tensor, window w: Int, resolution r: Int) -> Tensor {
        let c = windows.shape[2]
        return windows.reshaped([-1, r / w, r / w, w, w, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, r, r, c])
    }

    /// The additive attention mask of shifted windows, `[(R/w)², w·w, w·w]`: 0 between tokens
    /// that came from the same region of the unshifted grid, −100 otherwise (so softmax
    /// ignores pairs the cyclic shift made adjacent).
    static func shiftMask(resolution r: Int, window w: Int, shift s: Int) -> Tensor {
        // Region label per row (and per column): [0, R−w), [R−w, R−s), [R−s, R).
        func band(_ i: Int) -> Int { i < r - w ? 0 : (i < r - s ? 1 : 2) }
        let windowsPerSide = r / w, n = w * w
        let mask = Tensor(uninitialized: [windowsPerSide * windowsPerSide, n, n])
        for wy in 0..<windowsPerSide {
            for wx in 0..<windowsPerSide {
                let labels = (0..<n).map { t in band(wy * w + t / w) * 3 + band(wx * w + t % w) }
                let base = (wy * windowsPerSide + wx) * n * n
                for i in 0..<n { for j in 0..<n { mask.data[base + i * n + j] = labels[i] == labels[j] ? 0 : -100 } }
            }
        }
        return mask
    }
}
