/* codec_samples.c: valid messages of every kind for tests and the corpus. */
#include "codec_samples.h"

#include <stdlib.h>
#include <string.h>

#define S(lit) ((char *)(lit))

const Anwang__Record__BodyCase sample_record_kinds[6] = {
    ANWANG__RECORD__BODY_READING, ANWANG__RECORD__BODY_ALARM,   ANWANG__RECORD__BODY_DEVICE,
    ANWANG__RECORD__BODY_HAZARD,  ANWANG__RECORD__BODY_RECEIPT, ANWANG__RECORD__BODY_GAP,
};

const struct sample_env_kind sample_env_kinds[12] = {
    {"hello", ANWANG__ENVELOPE__MSG_HELLO, 0},
    {"welcome", ANWANG__ENVELOPE__MSG_WELCOME, 0},
    {"refuse", ANWANG__ENVELOPE__MSG_REFUSE, 0},
    {"batch", ANWANG__ENVELOPE__MSG_BATCH, 0},
    {"ack", ANWANG__ENVELOPE__MSG_ACK, 0},
    {"heartbeat", ANWANG__ENVELOPE__MSG_HEARTBEAT, 0},
    {"down-registry", ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_REGISTRY},
    {"down-hazard", ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_HAZARD},
    {"down-alarm-ack", ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALARM_ACK},
    {"down-alert", ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT},
    {"down-alert-cancel", ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT_CANCEL},
    {"down-ack", ANWANG__ENVELOPE__MSG_DOWN_ACK, 0},
};

static const char s_registry_json[] =
    "{\"county\":\"yueyang\",\"name\":\"岳阳县\",\"version\":7,\"zones\":[]}";

static void s_reading(Anwang__Reading *r)
{
    static uint8_t data[] = {0x01, 0x02, 0x00, 0xff};
    *r = (Anwang__Reading)ANWANG__READING__INIT;
    r->device = S("huaxin-t3");
    r->metric = S("tank-level");
    r->unit = S("m");
    r->has_value = 1;
    r->value = 7.62;
    r->string_value = S("液位正常");
    r->has_bool_value = 1;
    r->bool_value = 1;
    r->has_data_value = 1;
    r->data_value = (ProtobufCBinaryData){sizeof data, data};
    r->has_sum = 1;
    r->sum = 1234.5;
    r->time_ms = 1700000000123;
    r->has_time_from_device = 1;
    r->time_from_device = 1;
}

static void s_alarm(Anwang__AlarmEvent *a)
{
    *a = (Anwang__AlarmEvent)ANWANG__ALARM_EVENT__INIT;
    a->alarm_id = S("rongjiawan-a-000017");
    a->kind = ANWANG__ALARM_EVENT_KIND__ALARM_ESCALATED;
    a->device = S("huaxin-t3");
    a->metric = S("tank-level");
    a->site = S("yueyang/rongjiawan/xinqiang/huaxin-chem");
    a->item = S("tank-3");
    a->level = ANWANG__LEVEL__LEVEL_ORANGE;
    a->has_prev_level = 1;
    a->prev_level = ANWANG__LEVEL__LEVEL_YELLOW;
    a->has_direction = 1;
    a->direction = ANWANG__DIRECTION__DIRECTION_HIGH;
    a->has_value = 1;
    a->value = 8.1;
    a->has_first_value = 1;
    a->first_value = 7.6;
    a->has_first_time_ms = 1;
    a->first_time_ms = 1700000000000;
    a->time_ms = 1700000060000;
    a->has_threshold = 1;
    a->threshold = 8.0;
    a->by = S("值班员 张三");
}

static void s_device(Anwang__DeviceEvent *d)
{
    *d = (Anwang__DeviceEvent)ANWANG__DEVICE_EVENT__INIT;
    d->device = S("huaxin-siren-1");
    d->kind = ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE;
    d->time_ms = 1700000090000;
    d->has_last_seen_ms = 1;
    d->last_seen_ms = 1700000000000;
}

static void s_hazard(Anwang__HazardEvent *h)
{
    *h = (Anwang__HazardEvent)ANWANG__HAZARD_EVENT__INIT;
    h->hazard_id = S("rongjiawan:h-2024-0001");
    h->hlc = (UINT64_C(1700000000000) << 16) | 3;
    h->origin = S("rongjiawan");
    h->op = ANWANG__HAZARD_OP__HAZARD_REPORT;
    h->by = S("李四");
    h->site = S("yueyang/rongjiawan/xinqiang/huaxin-chem");
    h->sector = S("hazardous-chemicals");
    h->has_level = 1;
    h->level = ANWANG__HAZARD_LEVEL__HAZARD_MAJOR;
    h->title = S("储罐区防火堤破损");
    h->description = S("3号储罐防火堤东侧有裂缝");
    h->has_source = 1;
    h->source = ANWANG__HAZARD_SOURCE__SOURCE_INSPECTION;
    h->reporter = S("王五");
    h->unit = S("华鑫化工");
    h->person = S("赵六");
    h->has_deadline_ms = 1;
    h->deadline_ms = 1700600000000;
    h->evidence = S("photo:2024-0001.jpg");
    h->has_ok = 1;
    h->ok = 0;
    h->audience = S("县应急管理局");
    h->text = S("重大隐患通报");
    h->note = S("");
    h->has_time_ms = 1;
    h->time_ms = 1700000000000;
}

static void s_receipt(Anwang__AlertReceipt *r)
{
    *r = (Anwang__AlertReceipt)ANWANG__ALERT_RECEIPT__INIT;
    r->identifier = S("yueyang-alert-42");
    r->edge_id = S("rongjiawan");
    r->device = S("huaxin-siren-1");
    r->kind = ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_FAILED;
    r->time_ms = 1700000100000;
    r->has_attempts = 1;
    r->attempts = 3;
    r->detail = S("5.03 Service Unavailable");
}

void sample_record(sample *s, Anwang__Record__BodyCase kind)
{
    Anwang__Gap gap = ANWANG__GAP__INIT;
    s->rec = (Anwang__Record)ANWANG__RECORD__INIT;
    s->rec.hlc = (UINT64_C(1700000000000) << 16) | 1;
    s->rec.body_case = kind;
    s_reading(&s->reading);
    s_alarm(&s->alarm);
    s_device(&s->device);
    s_hazard(&s->hazard);
    s_receipt(&s->receipt);
    s->gap = gap;
    s->gap.lane = ANWANG__LANE__LANE_BULK;
    s->gap.from_seq = 101;
    s->gap.to_seq = 250;
    s->gap.count = 150;
    s->gap.time_ms = 1700000200000;
    switch (kind) {
    case ANWANG__RECORD__BODY_READING:
        s->rec.reading = &s->reading;
        break;
    case ANWANG__RECORD__BODY_ALARM:
        s->rec.alarm = &s->alarm;
        break;
    case ANWANG__RECORD__BODY_DEVICE:
        s->rec.device = &s->device;
        break;
    case ANWANG__RECORD__BODY_HAZARD:
        s->rec.hazard = &s->hazard;
        break;
    case ANWANG__RECORD__BODY_RECEIPT:
        s->rec.receipt = &s->receipt;
        break;
    case ANWANG__RECORD__BODY_GAP:
        s->rec.gap = &s->gap;
        break;
    default:
        break;
    }
}

static void s_lanes(sample *s)
{
    for (int i = 0; i < 2; i++) {
        s->lanes[i] = (Anwang__LaneSeq)ANWANG__LANE_SEQ__INIT;
        s->lane_ptrs[i] = &s->lanes[i];
    }
    s->lanes[0].lane = ANWANG__LANE__LANE_URGENT;
    s->lanes[0].seq = 17;
    s->lanes[1].lane = ANWANG__LANE__LANE_BULK;
    s->lanes[1].seq = 90210;
}

static void s_hello_welcome(sample *s)
{
    s->hello = (Anwang__Hello)ANWANG__HELLO__INIT;
    s->hello.edge_id = S("rongjiawan");
    s->hello.epoch = UINT64_C(0x9e3779b97f4a7c15);
    s->hello.n_heads = 2;
    s->hello.heads = s->lane_ptrs;
    s->hello.wall_ms = 1700000000000;
    s->hello.proto_version = AW_PROTO_VERSION;
    s->hello.zone = S("yueyang/rongjiawan");
    s->hello.has_down_applied = 1;
    s->hello.down_applied = 5;
    s->hello.has_registry_version = 1;
    s->hello.registry_version = 7;
    s->welcome = (Anwang__Welcome)ANWANG__WELCOME__INIT;
    s->welcome.epoch = s->hello.epoch;
    s->welcome.n_applied = 2;
    s->welcome.applied = s->lane_ptrs;
    s->welcome.center_ms = 1700000000100;
    s->welcome.proto_version = AW_PROTO_VERSION;
}

/* A batch of one encoded record of each kind. */
static int s_batch(sample *s)
{
    s->batch = (Anwang__Batch)ANWANG__BATCH__INIT;
    s->batch.epoch = UINT64_C(0x9e3779b97f4a7c15);
    s->batch.lane = ANWANG__LANE__LANE_URGENT;
    s->batch.first_seq = 18;
    s->batch.records = s->records;
    for (size_t i = 0; i < 6; i++) {
        sample_record(s, sample_record_kinds[i]);
        if (aw_codec_record_encode(&s->rec, &s->records[i].data, &s->records[i].len, NULL, 0))
            return -1;
        s->batch.n_records = i + 1;
    }
    return 0;
}

static void s_down_bodies(sample *s)
{
    s->registry = (Anwang__RegistrySnapshot)ANWANG__REGISTRY_SNAPSHOT__INIT;
    s->registry.version = 7;
    s->registry.zone = S("yueyang/rongjiawan");
    s->registry.json = (ProtobufCBinaryData){strlen(s_registry_json), (uint8_t *)s_registry_json};
    s->alarm_ack = (Anwang__AlarmAck)ANWANG__ALARM_ACK__INIT;
    s->alarm_ack.alarm_id = S("rongjiawan-a-000017");
    s->alarm_ack.by = S("县应急局 值班长");
    s->alarm_ack.time_ms = 1700000300000;
    s->alert_cancel = (Anwang__AlertCancel)ANWANG__ALERT_CANCEL__INIT;
    s->alert_cancel.identifier = S("yueyang-alert-42");
    s->alert_cancel.by = S("指挥长");
    s->alert_cancel.time_ms = 1700000400000;
}

static void s_alert(sample *s)
{
    Anwang__Alert *a = &s->alert;
    *a = (Anwang__Alert)ANWANG__ALERT__INIT;
    a->identifier = S("yueyang-alert-43");
    a->sender = S("yueyang-center@anwang");
    a->sent_ms = 1700000350000;
    a->status = ANWANG__ALERT_STATUS__STATUS_EXERCISE;
    a->msg_type = ANWANG__ALERT_MSG_TYPE__MSGTYPE_UPDATE;
    a->scope = S("Public");
    a->event = S("chemical leak");
    a->urgency = S("Immediate");
    a->severity = S("Severe");
    a->certainty = S("Observed");
    s->area[0] = S("yueyang/rongjiawan");
    s->area[1] = S("yueyang/rongjiawan/xinqiang");
    a->n_area = 2;
    a->area = s->area;
    a->headline = S("华鑫化工泄漏演练");
    a->instruction = S("请向东北方向撤离");
    a->has_expires_ms = 1;
    a->expires_ms = 1700003950000;
    s->references[0] = S("yueyang-alert-42");
    a->n_references = 1;
    a->references = s->references;
    a->plan_id = S("huaxin-leak");
    a->description = S("drill");
}

static void s_down(sample *s, Anwang__Down__BodyCase body)
{
    s->down = (Anwang__Down)ANWANG__DOWN__INIT;
    s->down.seq = 6;
    s->down.epoch = UINT64_C(0x9e3779b97f4a7c15);
    s->down.body_case = body;
    s_down_bodies(s);
    s_alert(s);
    sample_record(s, ANWANG__RECORD__BODY_HAZARD); /* fills s->hazard */
    if (body == ANWANG__DOWN__BODY_REGISTRY)
        s->down.registry = &s->registry;
    else if (body == ANWANG__DOWN__BODY_HAZARD)
        s->down.hazard = &s->hazard;
    else if (body == ANWANG__DOWN__BODY_ALARM_ACK)
        s->down.alarm_ack = &s->alarm_ack;
    else if (body == ANWANG__DOWN__BODY_ALERT)
        s->down.alert = &s->alert;
    else if (body == ANWANG__DOWN__BODY_ALERT_CANCEL)
        s->down.alert_cancel = &s->alert_cancel;
}

/* Sets the envelope's oneof to the message of @p msg filled in @p s. */
static void s_pick(sample *s, Anwang__Envelope__MsgCase msg)
{
    s->env.msg_case = msg;
    switch (msg) {
    case ANWANG__ENVELOPE__MSG_HELLO:
        s->env.hello = &s->hello;
        break;
    case ANWANG__ENVELOPE__MSG_WELCOME:
        s->env.welcome = &s->welcome;
        break;
    case ANWANG__ENVELOPE__MSG_REFUSE:
        s->env.refuse = &s->refuse;
        break;
    case ANWANG__ENVELOPE__MSG_BATCH:
        s->env.batch = &s->batch;
        break;
    case ANWANG__ENVELOPE__MSG_ACK:
        s->env.ack = &s->ack;
        break;
    case ANWANG__ENVELOPE__MSG_HEARTBEAT:
        s->env.heartbeat = &s->heartbeat;
        break;
    case ANWANG__ENVELOPE__MSG_DOWN:
        s->env.down = &s->down;
        break;
    default:
        s->env.down_ack = &s->down_ack;
        break;
    }
}

int sample_envelope(sample *s, Anwang__Envelope__MsgCase msg, Anwang__Down__BodyCase down)
{
    memset(s, 0, sizeof *s);
    s_lanes(s);
    s_hello_welcome(s);
    s->refuse = (Anwang__Refuse)ANWANG__REFUSE__INIT;
    s->refuse.reason = S("certificate names edge xinqiang, Hello claims rongjiawan");
    s->ack = (Anwang__Ack)ANWANG__ACK__INIT;
    s->ack.epoch = UINT64_C(0x9e3779b97f4a7c15);
    s->ack.lane = ANWANG__LANE__LANE_BULK;
    s->ack.applied_seq = 90210;
    s->heartbeat = (Anwang__Heartbeat)ANWANG__HEARTBEAT__INIT;
    s->heartbeat.wall_ms = 1700000500000;
    s->down_ack = (Anwang__DownAck)ANWANG__DOWN_ACK__INIT;
    s->down_ack.epoch = UINT64_C(0x9e3779b97f4a7c15);
    s->down_ack.applied_seq = 6;
    s_down(s, down ? down : ANWANG__DOWN__BODY_ALERT);
    s->env = (Anwang__Envelope)ANWANG__ENVELOPE__INIT;
    s_pick(s, msg);
    return msg == ANWANG__ENVELOPE__MSG_BATCH ? s_batch(s) : 0;
}

void sample_clear(sample *s)
{
    for (size_t i = 0; i < 6; i++) {
        free(s->records[i].data);
        s->records[i] = (ProtobufCBinaryData){0, NULL};
    }
    s->batch.n_records = 0;
}
