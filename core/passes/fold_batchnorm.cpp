#include <cmath>

#include "core/passes/passes.h"

namespace sp::passes {

void fold_batchnorm(Graph& g) {
  auto consumers = g.consumers();
  for (Node& bn : g.nodes) {
    if (bn.removed || bn.op_type != "BatchNormalization" || bn.outputs.size() != 1) continue;
    int x = bn.inputs[0];
    int p = g.values[x].producer;
    if (p < 0 || g.nodes[p].op_type != "Conv" || consumers[x].size() != 1) continue;
    Node& conv = g.nodes[p];
    const Tensor* w = g.constant(conv.inputs[1]);
    const Tensor* b = conv.inputs.size() > 2 ? g.constant(conv.inputs[2]) : nullptr;
    const Tensor* scale = g.constant(bn.inputs[1]);
    const Tensor* shift = g.constant(bn.inputs[2]);
    const Tensor* mean = g.constant(bn.inputs[3]);
    const Tensor* var = g.constant(bn.inputs[4]);
    if (!w || !scale || !shift || !mean || !var || w->dtype != DType::kFloat32) continue;
    if (conv.inputs.size() > 2 && conv.inputs[2] >= 0 && !b) continue;
    float eps = bn.attr_float("epsilon", 1e-5f);
    int64_t oc = w->shape[0], per = w->numel() / oc;
    auto nw = std::make_shared<Tensor>(*w);
    auto nb = std::make_shared<Tensor>(DType::kFloat32, Shape{oc});
    auto sc = scale->as_float(), sh = shift->as_float(), mu = mean->as_float(), va = var->as_float();
    for (int64_t o = 0; o < oc; ++o) {
      float k = sc[o] / std::sqrt(va[o] + eps);
      for (int64_t i = 0; i < per; ++i) nw->data<float>()[o * per + i] *= k;
      float bias = b ? b->data<float>()[o] : 0.0f;
      nb->data<float>()[o] = (bias - mu[o]) * k + sh[o];
    }
    Value wv{conv.name + "/bn_folded_weight", DType::kFloat32, nw->shape, true, nw, -1, nullptr};
    Value bv{conv.name + "/bn_folded_bias", DType::kFloat32, nb->shape, true, nb, -1, nullptr};
    conv.inputs.resize(3);
    conv.inputs[1] = g.add_value(std::move(wv));
    conv.inputs[2] = g.add_value(std::move(bv));
    g.replace_uses(bn.outputs[0], x);
    bn.removed = true;
  }
}

}  // namespace sp::passes
