#!/usr/bin/env python3
"""Generates the demo county registry deploy/registry/county.json (SPEC §1, §10).

    python3 deploy/registry/make-county.py            # writes county.json beside this script
    python3 deploy/registry/make-county.py -o FILE    # elsewhere ("-" for stdout)
    python3 deploy/registry/make-county.py --summary  # counts only, nothing written

岳阳县 (yueyang) as the demo runs it: three edge zones, 荣家湾镇 (the county
seat, a township), 麻塘办事处 (a street office on Dongting Lake: fisheries and
cold stores) and 岳阳县工业园 (the industrial park with the chemical cluster),
with their villages / communities, ~95 supervised sites in all eight sectors
of SPEC §1 and ~2,000 devices: sensors with realistic metrics, units and
four-colour thresholds (deadband, debounce), sirens and loudspeakers, and
linkage plans (a chemical site at red alerts its zone and a neighbour zone,
mode confirm; a tailings dam at red alerts the villages downstream, mode auto).

Sirens and loudspeakers listen, in the demo, on 127.0.0.1: one UDP port per
zone (5690, 5691, 5692), one path per device (/alert/<device-id>), which is
what `anwang-devsim --sirens` binds.

Deterministic: no clock, no random module; every "random" choice is a hash
of a fixed key, so the same script always writes the same bytes. Standard
library only. Edit the tables below, re-run, commit both files.
"""

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

COUNTY = "yueyang"
VERSION = 1
SIREN_HOST = "127.0.0.1"


def h(key, n):
    """A deterministic integer in [0, n) for the string key."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


def between(key, lo, hi):
    """A deterministic integer in [lo, hi]."""
    return lo + h(key, hi - lo + 1)


def frac(key, lo, hi, digits=1):
    """A deterministic decimal in [lo, hi], rounded to digits."""
    return round(lo + (hi - lo) * h(key, 10001) / 10000, digits)


# ---------------------------------------------------------------- the grid

# zone path segment, name, kind, siren port, neighbour zone (for plans)
ZONES = [
    ("rongjiawan", "荣家湾镇", "township", 5690, "matang"),
    ("matang", "麻塘办事处", "street-office", 5691, "rongjiawan"),
    ("gongyeyuan", "岳阳县工业园", "industrial-park", 5692, "rongjiawan"),
]

# per zone: (village segment, name, [site kinds]); a site kind is a key of KINDS
VILLAGES = {
    "rongjiawan": [
        ("chengnan", "城南社区", ["machinery", "building", "textile", "wwtp", "rice", "cold"]),
        ("chengbei", "城北社区", ["machinery", "printing", "building", "furniture", "lpg"]),
        ("xinqiang", "新墙村", ["tank-farm:huaxin", "chem", "fireworks", "building"]),
        ("wulipai", "五里牌村", ["fireworks", "fireworks", "machinery", "wood"]),
        ("huangxiu", "黄秀村", ["quarry", "quarry", "building"]),
        ("yanglin", "杨林村", ["mine", "tailings", "brew"]),
        ("wanghu", "望湖村", ["cold", "feed", "textile", "machinery"]),
        ("baiyang", "白羊村", ["fireworks", "quarry", "building"]),
        ("xiangyang", "向阳村", ["machinery", "printing", "paper", "wood"]),
        ("yougang", "油港社区", ["oil-depot", "machinery", "building"]),
    ],
    "matang": [
        ("matang", "麻塘社区", ["machinery", "building", "textile", "aquatic", "wwtp"]),
        ("hubin", "湖滨村", ["aquatic", "aquatic", "rice"]),
        ("nanhu", "南湖村", ["cold", "machinery", "printing", "fireworks", "feed"]),
        ("huangsha", "黄沙村", ["sand", "building", "feed"]),
        ("lujiao", "鹿角社区", ["oil-depot", "machinery", "building", "brew"]),
        ("yuchang", "渔场社区", ["aquatic", "cold", "wwtp"]),
        ("shuangqiao", "双桥村", ["machinery", "furniture", "wood"]),
    ],
    "gongyeyuan": [
        ("huagong", "化工集中区",
         ["tank-farm", "chem", "chem", "tank-farm", "chem", "lpg", "tank-farm", "chem", "wwtp"]),
        ("dongpian", "东片区",
         ["polishing", "polishing", "polishing", "machinery", "machinery", "printing", "paper"]),
        ("xipian", "西片区",
         ["machinery", "building", "textile", "machinery", "feed", "wood", "cold", "polishing"]),
        ("baishiling", "白石岭社区", ["machinery", "building", "printing", "chem", "wwtp"]),
        ("rongxin", "荣新社区", ["machinery", "textile", "building", "rice"]),
    ],
}

# Company name stems (Chinese, pinyin slug), handed out in order so every
# site slug is unique in the county; "kind:stem" in VILLAGES pins a stem (新墙村's
# tank farm is 华鑫化工, yueyang/rongjiawan/xinqiang/huaxin-chem, the SPEC's example).
STEMS = [
    ("华鑫", "huaxin"), ("长岭", "changling"), ("洞庭", "dongting"), ("巴陵", "baling"),
    ("荣湾", "rongwan"), ("金凤", "jinfeng"), ("湘北", "xiangbei"), ("云山", "yunshan"),
    ("宏达", "hongda"), ("兴旺", "xingwang"), ("永安", "yongan"), ("恒泰", "hengtai"),
    ("富民", "fumin"), ("天宇", "tianyu"), ("新港", "xingang"), ("鹿鸣", "luming"),
    ("南湖", "nanhu"), ("青山", "qingshan"), ("明珠", "mingzhu"), ("瑞丰", "ruifeng"),
    ("隆盛", "longsheng"), ("鑫源", "xinyuan"), ("汇通", "huitong"), ("中南", "zhongnan"),
    ("锦程", "jincheng"), ("昌盛", "changsheng"), ("博雅", "boya"), ("建新", "jianxin"),
    ("正大", "zhengda"), ("东升", "dongsheng"), ("腾飞", "tengfei"), ("益民", "yimin"),
    ("福临", "fulin"), ("广源", "guangyuan"), ("泰和", "taihe"), ("安达", "anda"),
    ("顺发", "shunfa"), ("通达", "tongda"), ("银河", "yinhe"), ("金山", "jinshan"),
    ("宝丰", "baofeng"), ("万家", "wanjia"), ("利民", "limin"), ("嘉禾", "jiahe"),
    ("群力", "qunli"), ("红旗", "hongqi"), ("前进", "qianjin"), ("振兴", "zhenxing"),
    ("远航", "yuanhang"), ("湘岳", "xiangyue"), ("岳鑫", "yuexin"), ("众诚", "zhongcheng"),
    ("大成", "dacheng"), ("联创", "lianchuang"), ("华丰", "huafeng"), ("新兴", "xinxing"),
    ("同力", "tongli"), ("龙湾", "longwan"), ("凤凰", "fenghuang"), ("白石", "baishi"),
    ("鸿运", "hongyun"), ("国泰", "guotai"), ("和顺", "heshun"), ("金穗", "jinsui"),
    ("新洲", "xinzhou"), ("湖滨", "hubin"), ("楚天", "chutian"), ("三湘", "sanxiang"),
    ("君山", "junshan"), ("潇湘", "xiaoxiang"), ("望岳", "wangyue"), ("黄秀", "huangxiu"),
    ("筻口", "gangkou"), ("杨林", "yanglin"), ("公田", "gongtian"), ("月田", "yuetian"),
    ("张谷", "zhanggu"), ("毛田", "maotian"), ("步仙", "buxian"), ("长湖", "changhu"),
    ("康华", "kanghua"), ("晨光", "chenguang"), ("旭日", "xuri"), ("祥瑞", "xiangrui"),
    ("德胜", "desheng"), ("嘉信", "jiaxin"), ("华泰", "huatai"), ("恒昌", "hengchang"),
    ("盛世", "shengshi"), ("新天", "xintian"), ("金桥", "jinqiao"), ("天成", "tiancheng"),
    ("宏远", "hongyuan"), ("鼎盛", "dingsheng"), ("聚源", "juyuan"), ("鑫达", "xinda"),
    ("金鹰", "jinying"), ("华宇", "huayu"), ("永丰", "yongfeng"), ("兴隆", "xinglong"),
    ("长江", "changjiang"), ("荣昌", "rongchang"), ("新亚", "xinya"), ("伟业", "weiye"),
]

# site kind -> (sector, slug suffix, name suffix, risk grades to pick from)
KINDS = {
    "tank-farm": ("hazardous-chemicals", "chem", "化工有限公司", ["orange", "red"]),
    "chem": ("hazardous-chemicals", "chem", "化工科技有限公司", ["orange", "yellow"]),
    "oil-depot": ("hazardous-chemicals", "oil", "石化仓储有限公司", ["orange", "red"]),
    "lpg": ("hazardous-chemicals", "lpg", "液化气储配站", ["orange"]),
    "quarry": ("non-coal-mine", "quarry", "石场", ["yellow", "orange"]),
    "mine": ("non-coal-mine", "mine", "矿业有限公司", ["orange"]),
    "sand": ("non-coal-mine", "sand", "砂石开采有限公司", ["yellow"]),
    "fireworks": ("fireworks", "fireworks", "烟花爆竹厂", ["yellow", "orange"]),
    "tailings": ("tailings-dam", "tailings", "尾矿库", ["orange"]),
    "machinery": ("industry-trade", "machinery", "机械制造有限公司", ["blue", "yellow"]),
    "building": ("industry-trade", "building", "建材有限公司", ["blue", "yellow"]),
    "textile": ("industry-trade", "textile", "纺织有限公司", ["blue"]),
    "printing": ("industry-trade", "printing", "包装印务有限公司", ["blue", "yellow"]),
    "furniture": ("dust-explosion", "furniture", "家具有限公司", ["yellow"]),
    "wood": ("dust-explosion", "wood", "木业有限公司", ["yellow", "orange"]),
    "polishing": ("dust-explosion", "metal", "金属制品有限公司", ["yellow", "orange"]),
    "feed": ("dust-explosion", "feed", "饲料有限公司", ["yellow"]),
    "rice": ("dust-explosion", "rice", "米业有限公司", ["blue", "yellow"]),
    "wwtp": ("confined-space", "wwtp", "污水处理厂", ["yellow"]),
    "paper": ("confined-space", "paper", "纸业有限公司", ["yellow"]),
    "brew": ("confined-space", "brew", "酿造有限公司", ["blue", "yellow"]),
    "cold": ("ammonia-refrigeration", "cold", "冷链物流有限公司", ["yellow", "orange"]),
    "aquatic": ("ammonia-refrigeration", "aquatic", "水产食品有限公司", ["yellow", "orange"]),
}

# ---------------------------------------------------------------- metrics

GAS = {
    # name: unit, high thresholds, deadband, debounce
    "ch4": ("%LEL", {"blue": 10, "yellow": 20, "orange": 35, "red": 50}, 2, 2),
    "h2s": ("ppm", {"blue": 5, "yellow": 10, "orange": 15, "red": 20}, 1, 2),
    "co": ("ppm", {"blue": 24, "yellow": 50, "orange": 100, "red": 200}, 3, 2),
    "nh3": ("ppm", {"blue": 15, "yellow": 30, "orange": 60, "red": 150}, 2, 2),
}


def gas(name, item):
    unit, high, deadband, debounce = GAS[name]
    return {"name": name, "unit": unit, "item": item, "high": dict(high),
            "deadband": deadband, "debounce": debounce}


def o2(item):
    return {"name": "o2", "unit": "%VOL", "item": item,
            "low": {"yellow": 19.5, "orange": 19.0, "red": 18.0},
            "high": {"yellow": 23.5}, "deadband": 0.2, "debounce": 2}


def high4(name, unit, item, top, steps, deadband, debounce, digits=2):
    """High thresholds blue..red at top * steps (rounded)."""
    lv = ["blue", "yellow", "orange", "red"]
    return {"name": name, "unit": unit, "item": item,
            "high": {lv[i]: round(top * s, digits) for i, s in enumerate(steps)},
            "deadband": deadband, "debounce": debounce}


def temperature(item, yellow, orange, red, deadband=0.5, debounce=3):
    return {"name": "temperature", "unit": "Cel", "item": item,
            "high": {"yellow": yellow, "orange": orange, "red": red},
            "deadband": deadband, "debounce": debounce}


# ---------------------------------------------------------------- devices per site kind

class Site:
    def __init__(self, zone, village, kind, stem):
        self.zone, self.village, self.kind = zone, village, kind
        sector, suffix, name_suffix, risks = KINDS[kind]
        self.sector = sector
        self.slug = f"{stem[1]}-{suffix}"
        self.name = stem[0] + name_suffix
        self.path = f"{COUNTY}/{zone[0]}/{village[0]}/{self.slug}"
        self.risk = risks[h(self.slug + "/risk", len(risks))]
        self.devices = []

    def n(self, what, lo, hi):
        return between(f"{self.slug}/{what}", lo, hi)

    def sensor(self, tag, name, interval, metrics):
        self.devices.append({"id": f"{self.slug}-{tag}", "name": name, "kind": "sensor",
                             "interval_s": interval, "metrics": metrics})

    def alarm(self, kind, tag, name):
        port = self.zone[3]
        dev_id = f"{self.slug}-{tag}"
        self.devices.append({"id": dev_id, "name": name, "kind": kind,
                             "uri": f"coap://{SIREN_HOST}:{port}/alert/{dev_id}"})

    def sirens(self, sirens, speakers):
        for i in range(1, sirens + 1):
            self.alarm("siren", f"siren{i}", f"声光报警器{i}")
        for i in range(1, speakers + 1):
            self.alarm("loudspeaker", f"speaker{i}", f"应急广播{i}")


def tank_farm(s, lo, hi, pressurised=False):
    """Storage tanks (level, temperature, pressure per tank) and gas detectors by area."""
    tanks = s.n("tanks", lo, hi)
    for t in range(1, tanks + 1):
        height = frac(f"{s.slug}/t{t}/h", 9.0, 16.0, 1)
        item = f"tank-{t}"
        metrics = [high4("tank-level", "m", item, height, (0.80, 0.85, 0.90, 0.95), 0.05, 3)]
        metrics[0]["low"] = {"yellow": round(height * 0.08, 2)}
        metrics.append(temperature(item, 40, 45, 50))
        if pressurised:
            metrics.append({"name": "pressure", "unit": "MPa", "item": item,
                            "high": {"yellow": 1.35, "orange": 1.45, "red": 1.55},
                            "low": {"yellow": 0.1}, "deadband": 0.02, "debounce": 3})
        else:
            metrics.append({"name": "pressure", "unit": "kPa", "item": item,
                            "high": {"yellow": 4.0, "orange": 5.0, "red": 6.0},
                            "low": {"yellow": -0.8, "red": -1.2}, "deadband": 0.1,
                            "debounce": 3})
        s.sensor(f"t{t:02d}", f"{t}号储罐液位/温度/压力", between(f"{s.slug}/t{t}/i", 10, 20),
                 metrics)
    # gas detectors: tank areas, loading bay, pump house
    areas = [("tank-area", "罐区"), ("loading", "装卸区"), ("pumps", "泵房")]
    detectors = s.n("gas", tanks + 8, tanks + 16)
    for g in range(1, detectors + 1):
        area, area_name = areas[0] if g <= detectors // 2 else areas[1 + g % 2]
        gases = ["ch4"] if g % 3 else ["ch4", "h2s"]
        if h(f"{s.slug}/g{g}/co", 4) == 0:
            gases.append("co")
        s.sensor(f"gas{g:02d}", f"{area_name}气体探测器{g}", 10,
                 [gas(x, f"{area}-gas") for x in gases])
    s.sirens(2 if tanks >= 8 else 1, 1)


def chemical(s):
    if s.kind == "lpg":
        tank_farm(s, 3, 6, pressurised=True)
    elif s.kind in ("tank-farm", "oil-depot"):
        tank_farm(s, 10, 16)
    else:
        tank_farm(s, 5, 9)
        # reactor hall: temperature and pressure of the reactors
        for r in range(1, s.n("reactors", 3, 5) + 1):
            item = f"reactor-{r}"
            s.sensor(f"r{r:02d}", f"{r}号反应釜温度/压力", 10,
                     [temperature(item, 85, 95, 105, 1.0, 2),
                      {"name": "pressure", "unit": "MPa", "item": item,
                       "high": {"yellow": 0.6, "orange": 0.7, "red": 0.8},
                       "deadband": 0.01, "debounce": 2}])


def mine(s):
    underground = s.kind == "mine"
    if underground:
        for p in range(1, s.n("points", 10, 14) + 1):
            item = f"level-{(p - 1) // 4 + 1}"
            s.sensor(f"env{p:02d}", f"井下{(p - 1) // 4 + 1}中段环境监测{p}", 15,
                     [gas("co", item), o2(item)])
        for f in range(1, 4):
            s.sensor(f"fan{f}", f"{f}号主扇风速", 30,
                     [{"name": "wind-speed", "unit": "m/s", "item": "ventilation",
                       "low": {"yellow": 0.5, "orange": 0.3, "red": 0.15},
                       "deadband": 0.02, "debounce": 3}])
    # open pit / slope: displacement survey points and rainfall
    for p in range(1, s.n("slope", 8, 14) + 1):
        s.sensor(f"slope{p:02d}", f"边坡位移监测点{p}", 60,
                 [high4("slope-displacement", "mm", "slope", 50, (0.2, 0.4, 0.7, 1.0), 0.5, 3)])
    s.sensor("rain", "雨量计", 60,
             [{"name": "rainfall", "unit": "mm/h", "item": "rainfall",
               "high": {"yellow": 20, "orange": 35, "red": 50}, "deadband": 1, "debounce": 2}])
    if not underground:
        for d in range(1, s.n("dust", 2, 4) + 1):
            s.sensor(f"dust{d}", f"破碎车间粉尘{d}", 30,
                     [high4("dust", "mg/m3", "crusher-dust", 10, (0.4, 0.6, 0.8, 1.0), 0.2, 3, 1)])
    s.sirens(1, 1 if underground else 0)


def fireworks(s):
    for w in range(1, s.n("stores", 6, 10) + 1):
        item = f"store-{w}"
        s.sensor(f"store{w:02d}", f"{w}号成品库温湿度", 30,
                 [temperature(item, 32, 36, 40),
                  {"name": "humidity", "unit": "%RH", "item": item,
                   "low": {"yellow": 40, "orange": 35}, "high": {"yellow": 75, "orange": 85},
                   "deadband": 1, "debounce": 3}])
    for w in range(1, s.n("workshops", 4, 8) + 1):
        s.sensor(f"ws{w:02d}", f"{w}号工房温度", 30, [temperature(f"workshop-{w}", 30, 34, 38)])
    for p in range(1, s.n("people", 2, 4) + 1):
        s.sensor(f"crowd{p}", f"{p}号危险工房定员", 20,
                 [{"name": "occupancy", "unit": "count", "item": "occupancy",
                   "high": {"yellow": 4, "red": 6}, "debounce": 2}])
    s.sirens(1, 1)


def tailings(s):
    # crest at 128.0 m: the water level limits follow the freeboard and beach length
    lv = {"blue": 124.5, "yellow": 125.5, "orange": 126.3, "red": 127.0}
    for g in (1, 2):
        s.sensor(f"level{g}", f"库水位计{g}", 30,
                 [{"name": "dam-water-level", "unit": "m", "item": "water-level",
                   "high": dict(lv), "deadband": 0.05, "debounce": 3}])
    for p in range(1, 19):
        s.sensor(f"disp{p:02d}", f"坝体表面位移监测点{p}", 60,
                 [{"name": "dam-displacement", "unit": "mm", "item": "displacement",
                   "high": {"blue": 10, "yellow": 20, "orange": 35, "red": 50},
                   "deadband": 0.5, "debounce": 3}])
    for p in range(1, 11):
        s.sensor(f"phreatic{p:02d}", f"浸润线监测孔{p}", 60,
                 [{"name": "phreatic-line", "unit": "m", "item": "phreatic",
                   "low": {"blue": 8.0, "yellow": 6.0, "orange": 5.0, "red": 4.0},
                   "deadband": 0.1, "debounce": 3}])
    s.sensor("rain", "库区雨量计", 60,
             [{"name": "rainfall", "unit": "mm/h", "item": "rainfall",
               "high": {"yellow": 20, "orange": 35, "red": 50}, "deadband": 1, "debounce": 2}])
    s.sensor("beach", "干滩长度", 60,
             [{"name": "beach-length", "unit": "m", "item": "beach",
               "low": {"yellow": 80, "orange": 70, "red": 60}, "deadband": 0.5, "debounce": 3}])
    s.sirens(3, 4)


def industry(s):
    gas_fired = s.kind in ("machinery", "building")
    for g in range(1, s.n("gas", 8, 16) + 1):
        s.sensor(f"gas{g:02d}", f"燃气报警器{g}", 10,
                 [gas("ch4", "gas")] + ([gas("co", "gas")] if gas_fired and g % 2 else []))
    for t in range(1, s.n("temp", 3, 6) + 1):
        top = 60 if s.kind != "textile" else 45
        s.sensor(f"temp{t}", f"配电室/车间温度{t}", 60,
                 [temperature(f"hall-{t}", top, top + 10, top + 20)])
    if s.kind == "machinery":
        for b in range(1, s.n("boiler", 1, 2) + 1):
            s.sensor(f"boiler{b}", f"{b}号锅炉压力", 15,
                     [{"name": "pressure", "unit": "MPa", "item": f"boiler-{b}",
                       "high": {"yellow": 1.15, "orange": 1.22, "red": 1.3},
                       "deadband": 0.01, "debounce": 3}])
    s.sirens(1, 0)


def dust(s):
    for c in range(1, s.n("collectors", 4, 8) + 1):
        item = f"collector-{c}"
        s.sensor(f"dc{c:02d}", f"{c}号除尘器", 15,
                 [high4("dust", "mg/m3", item, 40, (0.2, 0.4, 0.7, 1.0), 0.5, 3, 1),
                  temperature(item, 60, 70, 80),
                  {"name": "pressure-diff", "unit": "Pa", "item": item,
                   "high": {"yellow": 1500, "orange": 1800, "red": 2100},
                   "deadband": 20, "debounce": 3}])
    for w in range(1, s.n("workshop", 6, 14) + 1):
        s.sensor(f"ws{w:02d}", f"车间粉尘浓度{w}", 20,
                 [high4("dust", "mg/m3", "workshop-dust", 8, (0.5, 0.75, 1.0, 1.5), 0.2, 3, 1)])
    s.sirens(1, 1)


def confined(s):
    spaces = {"wwtp": ("wells", "污水井"), "paper": ("pools", "浆池"), "brew": ("tanks", "发酵罐")}
    what, cn = spaces[s.kind]
    for p in range(1, s.n(what, 5, 10) + 1):
        item = f"{what}-{p}"
        s.sensor(f"cs{p:02d}", f"{p}号{cn}有限空间气体", 10,
                 [gas("h2s", item), o2(item), gas("ch4", item)]
                 + ([gas("co", item)] if p % 2 else []))
    s.sirens(1, 0)


def ammonia(s):
    rooms = s.n("rooms", 5, 10)
    for r in range(1, rooms + 1):
        s.sensor(f"nh3-{r:02d}", f"{r}号冷间氨气探测器", 10, [gas("nh3", "ammonia")])
        s.sensor(f"room{r:02d}", f"{r}号冷间温度", 60,
                 [{"name": "temperature", "unit": "Cel", "item": f"room-{r}",
                   "high": {"yellow": -12, "orange": -8, "red": -4},
                   "deadband": 0.5, "debounce": 3}])
    for m in range(1, s.n("machines", 2, 3) + 1):
        s.sensor(f"mr{m}", f"{m}号机房氨气/排气压力", 10,
                 [gas("nh3", "machine-room"),
                  {"name": "pressure", "unit": "MPa", "item": "machine-room",
                   "high": {"yellow": 1.4, "orange": 1.5, "red": 1.6},
                   "deadband": 0.02, "debounce": 3}])
    s.sensor("receiver", "高压贮氨器液位", 15,
             [high4("tank-level", "m", "receiver", 1.6, (0.7, 0.75, 0.8, 0.85), 0.02, 3)])
    s.sirens(1, 1)


FILL = {
    "hazardous-chemicals": chemical, "non-coal-mine": mine, "fireworks": fireworks,
    "tailings-dam": tailings, "industry-trade": industry, "dust-explosion": dust,
    "confined-space": confined, "ammonia-refrigeration": ammonia,
}

# ---------------------------------------------------------------- plans

DOWNSTREAM = {  # tailings dam village -> villages downstream (same zone)
    "yanglin": ["wanghu", "xiangyang"],
}


def alert(area, event, severity, urgency, certainty, headline, instruction):
    return {"area": area, "event": event, "severity": severity, "urgency": urgency,
            "certainty": certainty, "headline": headline, "instruction": instruction}


def plans_for(site):
    zone_path = f"{COUNTY}/{site.zone[0]}"
    village_path = f"{zone_path}/{site.village[0]}"
    neighbour = f"{COUNTY}/{site.zone[4]}"
    when = lambda level: {"site": site.path, "level": level}  # noqa: E731
    if site.sector == "hazardous-chemicals":
        return [{"id": f"{site.slug}-leak", "when": when("red"), "mode": "confirm",
                 "alert": alert([zone_path, neighbour], "chemical leak", "Severe", "Immediate",
                                "Observed", f"{site.name}危险化学品泄漏",
                                "关闭门窗,熄灭明火,向上风方向撤离,听从现场指挥。")}]
    if site.sector == "tailings-dam":
        down = [f"{zone_path}/{v}" for v in DOWNSTREAM.get(site.village[0], [])]
        return [{"id": f"{site.slug}-breach", "when": when("red"), "mode": "auto",
                 "alert": alert([village_path] + down, "tailings dam failure risk", "Extreme",
                                "Immediate", "Likely", f"{site.name}溃坝风险",
                                "下游人员立即向两侧高处撤离,不要沿沟谷行走。")},
                {"id": f"{site.slug}-rise", "when": when("orange"), "mode": "confirm",
                 "alert": alert([village_path] + down, "tailings dam water rising", "Moderate",
                                "Expected", "Likely", f"{site.name}库水位上涨",
                                "下游人员做好撤离准备,注意收听广播。")}]
    if site.sector == "ammonia-refrigeration":
        return [{"id": f"{site.slug}-nh3", "when": when("red"), "mode": "confirm",
                 "alert": alert([village_path], "ammonia leak", "Severe", "Immediate",
                                "Observed", f"{site.name}液氨泄漏",
                                "用湿毛巾捂住口鼻,向上风方向撤离。")}]
    if site.sector == "fireworks":
        return [{"id": f"{site.slug}-fire", "when": when("red"), "mode": "confirm",
                 "alert": alert([village_path], "explosives storage fire risk", "Severe",
                                "Expected", "Possible", f"{site.name}库房温度异常",
                                "周边人员远离库区,禁止车辆通行。")}]
    if site.sector == "non-coal-mine":
        return [{"id": f"{site.slug}-slope", "when": when("red"), "mode": "confirm",
                 "alert": alert([village_path], "landslide", "Severe", "Immediate", "Likely",
                                f"{site.name}边坡失稳", "停止作业,人员撤离至安全区域。")}]
    return []


# ---------------------------------------------------------------- build

def build():
    pinned = {k.split(":")[1] for v in VILLAGES.values() for _, _, ks in v for k in ks if ":" in k}
    by_slug = {slug: (cn, slug) for cn, slug in STEMS}
    stems = iter([st for st in STEMS if st[1] not in pinned])
    zones, plans, sites = [], [], []
    for zone in ZONES:
        villages = []
        for village in VILLAGES[zone[0]]:
            vsites = []
            for spec in village[2]:
                kind, _, pin = spec.partition(":")
                site = Site(zone, village, kind, by_slug[pin] if pin else next(stems))
                FILL[site.sector](site)
                sites.append(site)
                plans += plans_for(site)
                vsites.append({"path": site.path, "name": site.name, "sector": site.sector,
                               "risk": site.risk, "devices": site.devices})
            villages.append({"path": f"{COUNTY}/{zone[0]}/{village[0]}", "name": village[1],
                             "sites": vsites})
        zones.append({"path": f"{COUNTY}/{zone[0]}", "name": zone[1], "kind": zone[2],
                      "villages": villages})
    doc = {"county": COUNTY, "name": "岳阳县", "version": VERSION, "zones": zones,
           "plans": plans}
    return doc, sites


def summary(doc, sites):
    devices = [d for s in sites for d in s.devices]
    kinds = Counter(d["kind"] for d in devices)
    lines = [f"zones {len(doc['zones'])}, villages "
             f"{sum(len(z['villages']) for z in doc['zones'])}, sites {len(sites)}, "
             f"devices {len(devices)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}), "
             f"metrics {sum(len(d.get('metrics', [])) for d in devices)}, plans {len(doc['plans'])}"]
    for z in doc["zones"]:
        zs = [s for s in sites if f"{COUNTY}/{s.zone[0]}" == z["path"]]
        lines.append(f"  {z['path']} ({z['kind']}): {len(z['villages'])} villages, "
                     f"{len(zs)} sites, {sum(len(s.devices) for s in zs)} devices")
    by_sector = Counter()
    dev_sector = Counter()
    for s in sites:
        by_sector[s.sector] += 1
        dev_sector[s.sector] += len(s.devices)
    for sector in sorted(by_sector):
        lines.append(f"  {sector}: {by_sector[sector]} sites, {dev_sector[sector]} devices")
    return "\n".join(lines)


def dump(doc):
    """Indented JSON down to the sites, one line per device and per plan."""
    compact = {}

    def mark(obj):
        key = f"@@{len(compact)}@@"
        compact[key] = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
        return key

    shallow = dict(doc, plans=[mark(p) for p in doc["plans"]], zones=[
        dict(z, villages=[dict(v, sites=[dict(s, devices=[mark(d) for d in s["devices"]])
                                         for s in v["sites"]]) for v in z["villages"]])
        for z in doc["zones"]])
    text = json.dumps(shallow, ensure_ascii=False, indent=1)
    for key, value in compact.items():
        text = text.replace(f'"{key}"', value, 1)
    return text + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default=str(Path(__file__).with_name("county.json")))
    ap.add_argument("--summary", action="store_true", help="print counts, write nothing")
    args = ap.parse_args()
    doc, sites = build()
    if len(STEMS) != len(set(s for _, s in STEMS)):
        sys.exit("make-county: duplicate stem slugs")
    ids = [d["id"] for s in sites for d in s.devices]
    if len(ids) != len(set(ids)):
        sys.exit("make-county: duplicate device ids")
    if args.summary:
        print(summary(doc, sites))
        return
    text = dump(doc)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"make-county: wrote {args.out}", file=sys.stderr)
        print(summary(doc, sites), file=sys.stderr)


if __name__ == "__main__":
    main()
