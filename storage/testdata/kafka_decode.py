#!/usr/bin/python3
"""Has kafka-python decode the batches write_batches_for_kafka wrote and
checks them against the .txt beside each. Exits non-zero on any mismatch.

    /usr/bin/python3 kafka_decode.py DIR

A codec whose Python module is missing is reported as SKIP; at least the
uncompressed and gzip batches must be present and verified.
"""
import os
import sys

import kafka.codec as codec
from kafka.record.default_records import DefaultRecordBatch

AVAILABLE = {0: True, 1: codec.has_gzip(), 2: codec.has_snappy(), 3: codec.has_lz4(),
             4: codec.has_zstd()}


def enc(b):
    return "-" if b is None else "x" + bytes(b).hex()


def check(path_bin, path_txt):
    data = open(path_bin, "rb").read()
    want = [l.split(" ") for l in open(path_txt).read().splitlines()]
    header = {t[1]: int(t[2]) for t in want if t[0] == "header"}
    if not AVAILABLE[header["compression"]]:
        return "SKIP (no codec module)"
    batch = DefaultRecordBatch(data)
    assert batch.validate_crc(), "CRC rejected by kafka-python"
    h = batch._header_data
    got = {"base_offset": batch.base_offset, "partition_leader_epoch": h[2],
           "compression": batch.compression_type, "transactional": int(batch.is_transactional),
           "producer_id": h[9], "producer_epoch": h[10], "base_sequence": h[11],
           "record_count": h[12]}
    for k, v in got.items():
        assert header[k] == v, "%s: kafka-python read %r, expected %r" % (k, v, header[k])
    records = [t for t in want if t[0] == "record"]
    n = 0
    for rec, w in zip(batch, records):
        n += 1
        assert rec.offset == header["base_offset"] + int(w[1]), (rec.offset, w)
        assert rec.timestamp == int(w[2]), (rec.timestamp, w)
        assert enc(rec.key) == w[3], (rec.key, w[3])
        assert enc(rec.value) == w[4], (rec.value, w[4][:40])
        hdrs = []
        for k, v in rec.headers:
            hdrs += [enc(k.encode("utf-8")), enc(v)]
        assert [str(len(rec.headers))] + hdrs == w[5:], (rec.headers, w[5:])
    assert n == len(records) == header["record_count"], (n, len(records))
    return "OK (%d records)" % n


def main():
    d = sys.argv[1]
    verified = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".bin"):
            continue
        result = check(os.path.join(d, name), os.path.join(d, name[:-4] + ".txt"))
        print("%-12s %s" % (name, result))
        verified += result.startswith("OK")
    if verified < 2:
        print("FAIL: fewer than 2 batches verified")
        sys.exit(1)


if __name__ == "__main__":
    main()
