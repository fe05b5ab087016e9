// Classifies preprocessed images with a .bitvit model through BitViT's C API (bitvit.h).
//
// Usage: classify <model.bitvit> <images.f32> [threads]
//   images.f32: float32 values (native byte order) in [batch, channels, side, side] order,
//   already resized and normalized as the model says (see bitvit_model_normalization).
// Prints the model's shapes, then per image its top-3 classes and every logit.
//
// Build (from the repository, after `swift build -c release --product BitViTC`):
//   cc -std=c11 -Wall -Wextra -o classify Examples/C/classify.c -ISources/CBitViTAPI/include
//      -L.build/release -lBitViTC -Wl,-rpath,.build/release     (one command line)
#include <bitvit.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, bitvit_status status) {
    fprintf(stderr, "%s: %s: %s\n", what, bitvit_status_string(status), bitvit_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s <model.bitvit> <images.f32> [threads]\n", argv[0]);
        return 2;
    }
    if (bitvit_api_version() / 1000 != BITVIT_API_VERSION_MAJOR) {
        fprintf(stderr, "libBitViTC has API version %u, this program was built for %d\n",
                bitvit_api_version(), BITVIT_API_VERSION);
        return 1;
    }

    bitvit_model *model = NULL;
    bitvit_status status = bitvit_model_load(argv[1], &model);
    if (status != BITVIT_OK) return fail(argv[1], status);
    if (argc == 4 && (status = bitvit_model_set_threads(model, atoi(argv[3]))) != BITVIT_OK) {
        bitvit_model_free(model);
        return fail("threads", status);
    }
    const size_t channels = bitvit_model_channels(model), side = bitvit_model_image_size(model);
    const size_t classes = bitvit_model_classes(model), per_image = channels * side * side;
    float mean[3] = {0}, std[3] = {0};
    if (channels <= 3) bitvit_model_normalization(model, mean, std);
    printf("model: %s, input %zux%zux%zu, %zu classes, mean %g std %g\n",
           bitvit_model_family(model), channels, side, side, classes, mean[0], std[0]);

    // Read the whole images file.
    FILE *file = fopen(argv[2], "rb");
    if (!file) { perror(argv[2]); bitvit_model_free(model); return 1; }
    fseek(file, 0, SEEK_END);
    const long bytes = ftell(file);
    fseek(file, 0, SEEK_SET);
    const size_t batch = bytes > 0 ? (size_t)bytes / (sizeof(float) * per_image) : 0;
    if (batch == 0 || (size_t)bytes != batch * per_image * sizeof(float)) {
        fprintf(stderr, "%s: %ld bytes is not a whole number of %zu-float images\n", argv[2], bytes, per_image);
        fclose(file);
        bitvit_model_free(model);
        return 1;
    }
    float *images = malloc((size_t)bytes), *logits = malloc(batch * classes * sizeof(float));
    const size_t read = fread(images, 1, (size_t)bytes, file);
    fclose(file);

    int result = 0;
    if (read != (size_t)bytes) {
        fprintf(stderr, "%s: short read\n", argv[2]);
        result = 1;
    } else if ((status = bitvit_model_logits(model, images, batch, logits, batch * classes)) != BITVIT_OK) {
        result = fail("logits", status);
    } else {
        for (size_t i = 0; i < batch; i++) {
            const float *row = logits + i * classes;
            printf("image %zu:", i);
            // The three largest logits, largest first (equal logits: lower label first).
            int taken[3] = {-1, -1, -1};
            for (int rank = 0; rank < 3 && rank < (int)classes; rank++) {
                int best = -1;
                for (size_t c = 0; c < classes; c++) {
                    int used = 0;
                    for (int r = 0; r < rank; r++) used |= taken[r] == (int)c;
                    if (!used && (best < 0 || row[c] > row[best])) best = (int)c;
                }
                taken[rank] = best;
                printf(" [%d] %s", best, bitvit_model_class_name(model, (size_t)best));
            }
            printf("\nlogits %zu:", i);
            for (size_t c = 0; c < classes; c++) printf(" %.9g", row[c]);
            printf("\n");
        }
    }
    free(images);
    free(logits);
    bitvit_model_free(model);
    return result;
}
