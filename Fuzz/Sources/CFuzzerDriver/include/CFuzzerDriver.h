#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`): parses libFuzzer's flags in
/// `argv` and fuzzes `test_one_input`. Called from a target's own `main` because SwiftPM names
/// an executable's entry point after its module, which leaves no place for libFuzzer's `main`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));

#endif
