#include "core/passes/passes.h"

namespace sp::passes {

void fuse_fake_quant(Graph& g) {
  auto consumers = g.consumers();
  for (Node& dq : g.nodes) {
    if (dq.removed || dq.op_type != "DequantizeLinear") continue;
    int q_out = dq.inputs[0];
    int p = g.values[q_out].producer;
    if (p < 0 || g.nodes[p].op_type != "QuantizeLinear" || consumers[q_out].size() != 1) continue;
    Node& q = g.nodes[p];
    // Same scale and zero point on both sides, per tensor: the common activation QDQ pair.
    const Tensor* qs = g.constant(q.inputs[1]);
    const Tensor* ds = g.constant(dq.inputs[1]);
    if (!qs || !ds || qs->numel() != 1 || ds->numel() != 1 || qs->as_float()[0] != ds->as_float()[0]) continue;
    int qz = q.inputs.size() > 2 ? q.inputs[2] : -1, dz = dq.inputs.size() > 2 ? dq.inputs[2] : -1;
    const Tensor* qzt = g.constant(qz);
    const Tensor* dzt = g.constant(dz);
    int64_t zq = qzt ? qzt->as_int64()[0] : 0, zd = dzt ? dzt->as_int64()[0] : 0;
    if (zq != zd) continue;
    bool is_signed = qzt && qzt->dtype == DType::kInt8;
    Node fq;
    fq.name = dq.name;
    fq.op_type = "FakeQuant";
    fq.inputs = {q.inputs[0]};
    fq.outputs = dq.outputs;
    Attribute a;
    a.kind = Attribute::Kind::kFloat;
    a.f = qs->as_float()[0];
    fq.attrs["scale"] = a;
    Attribute z;
    z.kind = Attribute::Kind::kInt;
    z.i = zq;
    fq.attrs["zero_point"] = z;
    Attribute lo = z, hi = z;
    lo.i = is_signed ? -128 : 0;
    hi.i = is_signed ? 127 : 255;
    fq.attrs["qmin"] = lo;
    fq.attrs["qmax"] = hi;
    q.removed = true;
    dq = fq;  // takes the DequantizeLinear's slot in the order; its outputs keep their producer index
  }
}

}  // namespace sp::passes
