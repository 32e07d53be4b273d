/**
 * @file codec_samples.h
 * @brief One valid in-memory message of every record and envelope kind, for
 * the codec tests and the fuzz corpus generator.
 */
#ifndef AW_CODEC_SAMPLES_H
#define AW_CODEC_SAMPLES_H

#include "codec.h"

/** Storage for one sample message and everything it points to. Strings point
 * to literals; batch records are malloc'd and freed by sample_clear(). */
typedef struct sample {
    Anwang__Reading reading;
    Anwang__AlarmEvent alarm;
    Anwang__DeviceEvent device;
    Anwang__HazardEvent hazard;
    Anwang__AlertReceipt receipt;
    Anwang__Gap gap;
    Anwang__Record rec;
    Anwang__LaneSeq lanes[2];
    Anwang__LaneSeq *lane_ptrs[2];
    Anwang__Hello hello;
    Anwang__Welcome welcome;
    Anwang__Refuse refuse;
    Anwang__Batch batch;
    ProtobufCBinaryData records[6];
    Anwang__Ack ack;
    Anwang__Heartbeat heartbeat;
    Anwang__RegistrySnapshot registry;
    Anwang__AlarmAck alarm_ack;
    char *area[2];
    char *references[1];
    Anwang__Alert alert;
    Anwang__AlertCancel alert_cancel;
    Anwang__Down down;
    Anwang__DownAck down_ack;
    Anwang__Envelope env;
} sample;

/** The six record body kinds and the twelve envelope shapes (eight kinds,
 * Down counted once per body kind). */
extern const Anwang__Record__BodyCase sample_record_kinds[6];
extern const struct sample_env_kind {
    const char *name;
    Anwang__Envelope__MsgCase msg;
    Anwang__Down__BodyCase down; /* for ANWANG__ENVELOPE__MSG_DOWN */
} sample_env_kinds[12];

/** Fills s->rec with a valid record of @p kind, every optional field set. */
void sample_record(sample *s, Anwang__Record__BodyCase kind);

/** Fills s->env with a valid envelope; a batch carries one encoded record of
 * each kind. Returns 0, or -1 when out of memory. Call sample_clear() after. */
int sample_envelope(sample *s, Anwang__Envelope__MsgCase msg, Anwang__Down__BodyCase down);

/** Frees the batch records of @p s. Safe to call twice. */
void sample_clear(sample *s);

#endif
