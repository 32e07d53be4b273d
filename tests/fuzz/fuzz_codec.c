/* fuzz_codec.c: libFuzzer target for the wire codec. Decodes the input as an
 * envelope and each Batch record; whatever decodes must re-encode, decode
 * again and re-encode to the same bytes. Never crashes, never leaks. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Encoding what decoded must work, and be a fixed point after one round. */
static void s_check_record(const uint8_t *data, size_t size)
{
    Anwang__Record *rec = NULL, *again = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t alen, blen;
    if (aw_codec_record_decode(data, size, NULL, &rec, NULL, 0) != AW_OK)
        return;
    if (aw_codec_record_encode(rec, &a, &alen, NULL, 0) != AW_OK)
        abort(); /* decode accepted what encode refuses */
    if (aw_codec_record_decode(a, alen, NULL, &again, NULL, 0) != AW_OK)
        abort();
    if (aw_codec_record_encode(again, &b, &blen, NULL, 0) != AW_OK)
        abort();
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
    aw_codec_record_free(&again);
    aw_codec_record_free(&rec);
    free(a);
    free(b);
}

static void s_check_envelope(const Anwang__Envelope *env)
{
    Anwang__Envelope *again = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t alen, blen;
    if (aw_codec_envelope_encode(env, &a, &alen, NULL, 0) != AW_OK)
        abort();
    if (aw_codec_envelope_decode(a, alen, NULL, &again, NULL, 0) != AW_OK)
        abort();
    if (aw_codec_envelope_encode(again, &b, &blen, NULL, 0) != AW_OK)
        abort();
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
    aw_codec_envelope_free(&again);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];
    Anwang__Envelope *env = NULL;
    s_check_record(data, size); /* the bytes as a record read from a store */
    if (aw_codec_envelope_decode(data, size, NULL, &env, why, sizeof why) != AW_OK) {
        if (env != NULL || why[0] == '\0')
            abort(); /* a refusal leaves no message and always says why */
        return 0;
    }
    s_check_envelope(env);
    if (env->msg_case == ANWANG__ENVELOPE__MSG_BATCH)
        for (size_t i = 0; i < env->batch->n_records; i++)
            s_check_record(env->batch->records[i].data, env->batch->records[i].len);
    aw_codec_envelope_free(&env);
    return 0;
}
