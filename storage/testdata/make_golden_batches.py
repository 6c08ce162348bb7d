#!/usr/bin/python3
"""Writes golden RecordBatch v2 files with kafka-python (a real Kafka client).

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 storage/testdata/make_golden_batches.py storage/testdata

For each case it writes <case>.bin (the batch exactly as kafka-python's
DefaultRecordBatchBuilder built it) and <case>.txt, the expected contents,
which storage/golden_batch_test.cc decodes and compares field by field.
Codecs whose Python module is missing (python3-snappy, python3-lz4,
python3-zstandard) are skipped and listed in skipped.txt.

.txt format, one fact per line; bytes are written as "x" + hex, null as "-":
    header <name> <value>
    record <offset_delta> <timestamp> <key> <value> <header_count> [<hkey> <hvalue>]...
"""
import os
import sys

import kafka.codec as codec
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
AVAILABLE = {"none": True, "gzip": codec.has_gzip(), "snappy": codec.has_snappy(),
             "lz4": codec.has_lz4(), "zstd": codec.has_zstd()}


def enc(b):
    return "-" if b is None else "x" + bytes(b).hex()


def plain_records(n, value_size=40):
    # Repetitive values so every codec actually shrinks them (kafka-python
    # sends uncompressed when compression does not help).
    return [(1700000000000 + i * 7, b"key-%d" % i, (b"value-%d-" % i) * (value_size // 8), [])
            for i in range(n)]


def edge_records():
    return [
        (1700000000500, None, b"null key", []),
        (1700000000100, b"null value", None, [("h", b"v")]),
        (1700000000900, b"", b"", [("empty-value", b""), ("null-value", None)]),
        (1700000000200, b"k" * 200, b"v" * 20000, [("big", b"h" * 300), ("\u00e9t\u00e9", b"x")]),
    ]


CASES = [
    # name, codec, transactional, producer id, epoch, base sequence, records
    ("plain", "none", False, -1, -1, -1, plain_records(3)),
    ("edge_cases", "none", False, 1234, 5, 42, edge_records()),
    ("transactional", "none", True, 98765432109, 2, 7, plain_records(2)),
]
for name in ("gzip", "snappy", "lz4", "zstd"):
    CASES.append((name + "_many", name, False, 77, 1, 0, plain_records(60)))
    CASES.append((name + "_edge_cases", name, False, -1, -1, -1, edge_records()))


def write_case(out_dir, name, codec_name, txn, pid, pepoch, seq, records):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=CODECS[codec_name], is_transactional=txn,
        producer_id=pid, producer_epoch=pepoch, base_sequence=seq, batch_size=1 << 20)
    for i, (ts, key, value, headers) in enumerate(records):
        assert builder.append(i, timestamp=ts, key=key, value=value, headers=headers) is not None
    data = bytes(builder.build())

    # Read it back with the same library: the expectations come from its
    # reader, not from our intentions.
    batch = DefaultRecordBatch(data)
    assert batch.validate_crc()
    assert batch.compression_type == CODECS[codec_name], (name, "did not compress")
    lines = [
        "header base_offset %d" % batch.base_offset,
        # kafka-python 2.0.2 has no accessors for these: read its parsed
        # header tuple (baseOffset, length, epoch, magic, crc, attributes,
        # lastOffsetDelta, firstTs, maxTs, producerId, producerEpoch,
        # baseSequence, recordCount).
        "header partition_leader_epoch %d" % batch._header_data[2],
        "header compression %d" % batch.compression_type,
        "header timestamp_type %d" % batch.timestamp_type,
        "header transactional %d" % int(batch.is_transactional),
        "header control %d" % int(batch.is_control_batch),
        "header last_offset_delta %d" % batch.last_offset_delta,
        "header base_timestamp %d" % batch.first_timestamp,
        "header max_timestamp %d" % batch.max_timestamp,
        "header producer_id %d" % batch._header_data[9],
        "header producer_epoch %d" % batch._header_data[10],
        "header base_sequence %d" % batch._header_data[11],
        "header record_count %d" % batch._header_data[12],
        "header size %d" % len(data),
    ]
    for i, rec in enumerate(batch):
        hdrs = " ".join("%s %s" % (enc(k.encode("utf-8")), enc(v)) for k, v in rec.headers)
        lines.append(("record %d %d %s %s %d %s" % (
            rec.offset, rec.timestamp, enc(rec.key), enc(rec.value), len(rec.headers),
            hdrs)).rstrip())
    with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(out_dir, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    out_dir = sys.argv[1]
    skipped = []
    for case in CASES:
        if not AVAILABLE[case[1]]:
            skipped.append("%s (kafka-python has no %s codec module)" % (case[0], case[1]))
            continue
        write_case(out_dir, *case)
    with open(os.path.join(out_dir, "skipped.txt"), "w") as f:
        f.write("".join(s + "\n" for s in skipped))


if __name__ == "__main__":
    main()
