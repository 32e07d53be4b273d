/* libFuzzer target: aw_senml_parse() on SenML CBOR (content-format 112).
 * The same target and invariants as fuzz_senml_json.c, with CBOR input. */
#define FUZZ_SENML_FORMAT AW_SENML_CBOR
#include "fuzz_senml_json.c"
