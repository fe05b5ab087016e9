import CBitViTAPI

// The compiler checks here that every function bitvit.h declares has exactly the type of the
// @_cdecl function that defines it (the header's declarations are imported from CBitViTAPI):
// a header edit that does not match the implementation, or the reverse, fails to build.

private func sameType<Function>(_ declared: Function, _ defined: Function) {}

private func headerMatchesDefinitions() {
    sameType(bitvit_last_error, bitvitLastError)
    sameType(bitvit_model_load, bitvitModelLoad)
    sameType(bitvit_model_load_memory, bitvitModelLoadMemory)
    sameType(bitvit_model_free, bitvitModelFree)
    sameType(bitvit_model_channels, bitvitModelChannels)
    sameType(bitvit_model_image_size, bitvitModelImageSize)
    sameType(bitvit_model_classes, bitvitModelClasses)
    sameType(bitvit_model_class_name, bitvitModelClassName)
    sameType(bitvit_model_family, bitvitModelFamily)
    sameType(bitvit_model_normalization, bitvitModelNormalization)
    sameType(bitvit_model_set_threads, bitvitModelSetThreads)
    sameType(bitvit_model_logits, bitvitModelLogits)
}
