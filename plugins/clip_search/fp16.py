"""fp16 ONNX exports (``convert_float_to_float16(..., keep_io_types=True)``) back to fp32.

Why: Chinese-CLIP's published fp16 towers keep their weights in an external ``.extra_file``
and need a recent ONNX Runtime with graph optimisation on; converted models made the same way
fail to load in ORT 1.32 (``Type parameter (T) of Optype (Conv) bound to different types``,
models-pinned.md). Casting every fp16 tensor to fp32 and dropping the casts the converter
inserted gives a plain fp32 graph that loads everywhere and quantizes like the fp32 export.
Needs the ``onnx`` package (a dev/export dependency), imported inside the function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError


def convert_to_fp32(src: Path, dest: Path) -> None:
    """Write ``src`` (fp16 weights, external data beside it) as a single-file fp32 ``dest``."""
    try:
        import onnx
    except ImportError:
        raise HuisouError(f"{src}: converting an fp16 model needs the onnx package: "
                          "pip install onnx") from None
    try:
        model = onnx.load(str(src), load_external_data=True)
    except FileNotFoundError as exc:
        raise HuisouError(f"{src}: its external data file is missing ({exc.filename}); keep the "
                          ".onnx and its .extra_file together") from None
    except Exception as exc:  # protobuf DecodeError, onnx's ValidationError
        raise HuisouError(f"{src}: not a readable ONNX model ({type(exc).__name__}: {exc})"
                          ) from None
    _to_fp32(model.graph, onnx)
    _drop_identity_casts(model.graph, onnx)
    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dest))


def _to_fp32(graph: Any, onnx: Any) -> None:
    """Every fp16 initializer, constant, attribute and type in ``graph`` (and subgraphs)."""
    from onnx import numpy_helper

    fp16, fp32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT

    def tensor32(tensor: Any) -> Any:
        if tensor.data_type != fp16:
            return tensor
        return numpy_helper.from_array(numpy_helper.to_array(tensor).astype("float32"), tensor.name)

    for index, tensor in enumerate(list(graph.initializer)):
        graph.initializer[index].CopyFrom(tensor32(tensor))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                attr.t.CopyFrom(tensor32(attr.t))
            elif attr.type == onnx.AttributeProto.GRAPH:
                _to_fp32(attr.g, onnx)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    _to_fp32(sub, onnx)
            elif attr.name in ("to", "dtype") and attr.type == onnx.AttributeProto.INT \
                    and attr.i == fp16:
                attr.i = fp32
    for value in (*graph.input, *graph.output, *graph.value_info):
        tensor_type = value.type.tensor_type
        if tensor_type.elem_type == fp16:
            tensor_type.elem_type = fp32


def _drop_identity_casts(graph: Any, onnx: Any) -> None:
    """Remove Casts to float whose input is float now (the converter's inserted pairs),
    rewiring their consumers; a Cast that produces a graph output stays as it is, and so does
    one whose input type is not known here (a no-op, still correct)."""
    float_names = {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    float_names |= {v.name for v in (*graph.input, *graph.value_info)
                    if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    outputs = {o.name for o in graph.output}
    rename: dict[str, str] = {}
    kept = []
    for node in graph.node:
        node.input[:] = [rename.get(name, name) for name in node.input]
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if (node.op_type == "Cast" and to == onnx.TensorProto.FLOAT
                and node.input[0] in float_names and node.output[0] not in outputs):
            rename[node.output[0]] = node.input[0]
            continue
        if node.op_type == "Cast" and to == onnx.TensorProto.FLOAT:
            float_names.add(node.output[0])
        kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
