"""fjord_proto_library: C++ (and optionally gRPC) code from .proto files.

Bazel's native proto rules download @com_google_protobuf, which this offline
build cannot do, so a genrule runs Debian's `protoc` and `grpc_cpp_plugin`
from the workspace root (`-I.`): `proto/fjord/v1/x.proto` becomes
`proto/fjord/v1/x.pb.h` (and `x.grpc.pb.h` when `grpc = True`), included by
that path.
"""

load("@system//:tools.bzl", "GRPC_CPP_PLUGIN", "PROTOC")

def fjord_proto_library(name, srcs, deps = [], grpc = False, visibility = None):
    """Generates and compiles C++ for `srcs`.

    Args:
      name: the cc_library that holds the generated code.
      srcs: .proto files in this package.
      deps: other fjord_proto_library targets whose protos `srcs` import.
      grpc: also generate gRPC service stubs.
      visibility: of the cc_library.
    """
    stems = [s[:-len(".proto")] for s in srcs]
    hdrs = [s + ".pb.h" for s in stems]
    cc_srcs = [s + ".pb.cc" for s in stems]
    if grpc:
        hdrs += [s + ".grpc.pb.h" for s in stems]
        cc_srcs += [s + ".grpc.pb.cc" for s in stems]

    cmd = "%s -I. --cpp_out=$(GENDIR)" % PROTOC
    if grpc:
        cmd += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=%s" % GRPC_CPP_PLUGIN
    cmd += " $(SRCS)"

    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [d + "_protos" for d in deps],
        visibility = visibility,
    )
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        tools = [d + "_protos" for d in deps],
        outs = hdrs + cc_srcs,
        cmd = cmd,
    )
    system = ["@system//:protobuf"] + (["@system//:grpc++"] if grpc else [])
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        # Generated code is not held to Fjord's warning flags. It is also left
        # uninstrumented under --config=tsan: it is mostly gRPC's header
        # templates, whose synchronization lives in Debian's uninstrumented
        # libgrpc (see tools/tsan/).
        copts = ["-Wno-error", "-Wno-unused-parameter", "-fno-sanitize=thread"],
        deps = deps + system,
        visibility = visibility,
    )
