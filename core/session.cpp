#include "core/session.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "core/build_identity.h"
#include "core/error.h"
#include "core/kernels/spconv_f32/spconv_f32.h"
#include "core/memory_planner.h"
#include "core/ops/op_factory.h"
#include "core/passes/passes.h"
#include "core/shape_inference.h"

namespace sp {

// Turns a Graph into a Session: shapes, passes, layouts, aliases, arena, ops. One method per step.
class SessionCompiler {
 public:
  SessionCompiler(Session& s, const Graph& model, const SessionOptions& o) : s_(s), g_(model), opt_(o) {}

  void compile() {
    passes::mark_bf16_convs(g_, opt_.bf16_convs);  // first: the metadata names nodes of the whole graph
    cut_outputs();
    specialize();
    g_.remove_dead_nodes();
    passes::fold_batchnorm(g_);
    passes::fuse_fake_quant(g_);
    passes::fuse_activations(g_);
    // Lowered first: a float residual add fused into a conv would keep that conv off the integer kernels.
    if (opt_.integer) s_.integer_report_ = passes::lower_to_integer(g_, {opt_.u8_input && opt_.nhwc_input});
    if (opt_.integer && opt_.integer_fusions) passes::fuse_qconv_residual(g_);
    passes::fuse_residual_add(g_);
    g_.remove_dead_nodes();
    make_values();
    assign_layouts();
    assign_aliases();
    plan_memory();
    create_ops();
    choose_kernels();
    chain_sparse_planar();
  }

 private:
  Session& s_;
  Graph g_;
  const SessionOptions& opt_;
  std::vector<Node> exec_;                 // nodes in run order, incl. inserted layout conversions
  std::vector<bool> noop_;                 // exec_[i] needs no op (its outputs are views)
  std::map<std::pair<int, bool>, int> converted_;  // (value, to_nhwc) -> converted value

  std::vector<RtValue>& values() { return s_.values_; }

  void cut_outputs() {
    if (!opt_.outputs.empty()) {
      g_.outputs.clear();
      for (const auto& name : opt_.outputs) {
        int v = g_.find_value(name);
        if (v < 0) throw Error("the model has no value named '" + name + "' to stop at");
        g_.outputs.push_back(v);
      }
    }
    g_.remove_dead_nodes();
  }

  void specialize() {
    std::vector<Shape> shapes;
    bool hw_applied = false;
    for (int in : g_.inputs) {
      Shape s = g_.values[in].shape;
      if (s.size() == 4 && !opt_.input_hw.empty() && !hw_applied) {
        if (opt_.input_hw.size() != 2 || opt_.input_hw[0] <= 0 || opt_.input_hw[1] <= 0) {
          throw Error("invalid input size for input '" + g_.values[in].name + "'");
        }
        s[2] = opt_.input_hw[0];
        s[3] = opt_.input_hw[1];
        hw_applied = true;
      }
      for (size_t d = 0; d < s.size(); ++d) {
        if (s[d] >= 0) continue;
        if (d == 0) s[d] = 1;  // batch
        else throw Error("input '" + g_.values[in].name + "' has a dynamic size " + shape_string(g_.values[in].shape) + "; give the input size (--imgsz)");
      }
      shapes.push_back(s);
    }
    specialize_shapes(g_, shapes);
  }

  void make_values() {
    values().resize(g_.values.size());
    for (size_t i = 0; i < g_.values.size(); ++i) {
      const Value& v = g_.values[i];
      RtValue& r = values()[i];
      r.name = v.name;
      r.dtype = v.dtype;
      r.shape = v.shape;
      if (v.constant) {
        s_.constants_.push_back(v.constant);
        r.constant = v.constant.get();
        if (v.constant->dtype == DType::kFloat32) r.data = const_cast<float*>(v.constant->data<float>());
      }
    }
    for (int in : g_.inputs) {
      RtValue& r = values()[in];
      bool quantized = r.dtype == DType::kUInt8 && is_u8_input(in);
      if (r.dtype != DType::kFloat32 && !quantized) throw Error("input '" + r.name + "' is " + dtype_name(r.dtype) + "; only float inputs are supported");
      if (quantized || (opt_.nhwc_input && r.shape.size() == 4 && r.shape[0] == 1)) {
        r.nhwc = true;
        r.pixel_stride = r.channels();
      }
    }
    s_.inputs_ = g_.inputs;
  }

  bool is_u8_input(int v) const {
    const auto& ins = s_.integer_report_.u8_inputs;
    return std::any_of(ins.begin(), ins.end(), [&](const auto& i) { return i.value == v; });
  }

  // --- layouts -------------------------------------------------------------------------------------
  // u8 activations (integer lowering) are always NHWC: every integer op is.
  bool activation4d(int v) {
    if (v < 0) return false;
    const RtValue& r = values()[v];
    return !r.constant && (r.dtype == DType::kFloat32 || r.dtype == DType::kUInt8) && r.shape.size() == 4 && r.shape[0] == 1;
  }

  bool any_nhwc_input(const Node& n) {
    for (int v : n.inputs) {
      if (activation4d(v) && values()[v].nhwc) return true;
    }
    return false;
  }

  bool per_channel_or_scalar(int v, int64_t channels) {
    const RtValue& r = values()[v];
    if (!r.constant || r.dtype != DType::kFloat32) return false;
    if (r.numel() == 1) return true;
    // [C,1,1] or [1,C,1,1]
    const Shape& s = r.shape;
    if (r.numel() != channels || s.size() < 3) return false;
    return s[s.size() - 1] == 1 && s[s.size() - 2] == 1;
  }

  bool wants_nhwc(const Node& n) {
    const std::string& op = n.op_type;
    int out = n.outputs.empty() ? -1 : n.outputs[0];
    if (!activation4d(out)) return false;
    if (is_integer_op(op)) return true;
    if (op == "Conv" || op == "MaxPool") return activation4d(n.inputs[0]);
    if (op == "Resize") {
      const Shape& a = values()[n.inputs[0]].shape;
      const Shape& b = values()[out].shape;
      return n.attr_string("mode", "nearest") == "nearest" && a[0] == b[0] && a[1] == b[1] &&
             n.attr_string("coordinate_transformation_mode", "half_pixel") == "asymmetric" &&
             n.attr_string("nearest_mode", "round_prefer_floor") == "floor";
    }
    if (op == "Sigmoid" || op == "Relu" || op == "SiLU" || op == "FakeQuant" || op == "Identity" ||
        op == "LeakyRelu" || op == "HardSigmoid" || op == "HardSwish" || op == "Tanh") {
      return any_nhwc_input(n);
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      for (int v : n.inputs) {
        bool ok = activation4d(v) ? values()[v].shape == values()[out].shape : per_channel_or_scalar(v, values()[out].channels());
        if (!ok) return false;
      }
      return any_nhwc_input(n);
    }
    if (op == "Concat") {
      int64_t axis = n.attr_int("axis", 0);
      if (axis != 1 && axis != -3) return false;
      for (int v : n.inputs) if (!activation4d(v)) return false;
      return any_nhwc_input(n);
    }
    if (op == "Split") {
      int64_t axis = n.attr_int("axis", 0);
      return (axis == 1 || axis == -3) && values()[n.inputs[0]].nhwc;
    }
    return false;
  }

  int convert(int v, bool to_nhwc) {
    auto key = std::make_pair(v, to_nhwc);
    auto it = converted_.find(key);
    if (it != converted_.end()) return it->second;
    RtValue r = values()[v];
    if (r.dtype != DType::kFloat32) throw Error("internal: layout conversion of the " + std::string(dtype_name(r.dtype)) + " value '" + r.name + "'");
    r.name += to_nhwc ? "#nhwc" : "#nchw";
    r.nhwc = to_nhwc;
    r.pixel_stride = to_nhwc ? r.channels() : 0;
    r.alias_of = -1;
    r.alias_offset = 0;
    values().push_back(r);
    int id = static_cast<int>(values().size()) - 1;
    Node c;
    c.name = values()[v].name + (to_nhwc ? "/to_nhwc" : "/to_nchw");
    c.op_type = to_nhwc ? "LayoutToNHWC" : "LayoutToNCHW";
    c.inputs = {v};
    c.outputs = {id};
    exec_.push_back(c);
    converted_[key] = id;
    return id;
  }

  void assign_layouts() {
    for (const Node& node : g_.nodes) {
      if (node.removed) continue;
      Node n = node;
      bool nhwc = wants_nhwc(n);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        int v = n.inputs[i];
        if (!activation4d(v)) continue;
        if (n.op_type == "Conv" && (i == 1 || i == 2)) continue;
        if (values()[v].nhwc != nhwc) n.inputs[i] = convert(v, nhwc);
      }
      for (int o : n.outputs) {
        if (!activation4d(o)) continue;
        values()[o].nhwc = nhwc;
        values()[o].pixel_stride = nhwc ? values()[o].channels() : 0;
      }
      exec_.push_back(n);
    }
    for (int o : g_.outputs) {
      int v = o;
      if (values()[v].nhwc && !opt_.nhwc_outputs) v = convert(v, false);
      s_.outputs_.push_back(v);
      s_.output_names_.push_back(g_.values[o].name);
    }
    noop_.assign(exec_.size(), false);
  }

  // --- zero-copy views -----------------------------------------------------------------------------
  int root_of(int v, int64_t* offset) {
    int64_t off = 0;
    while (values()[v].alias_of >= 0) {
      off += values()[v].alias_offset;
      v = values()[v].alias_of;
    }
    if (offset) *offset = off;
    return v;
  }

  bool is_io(int v) {
    return std::find(s_.inputs_.begin(), s_.inputs_.end(), v) != s_.inputs_.end() ||
           std::find(s_.outputs_.begin(), s_.outputs_.end(), v) != s_.outputs_.end();
  }

  void assign_aliases() {
    for (size_t i = 0; i < exec_.size(); ++i) {
      Node& n = exec_[i];
      const std::string& op = n.op_type;
      if (op == "Split" || op == "QSplit") noop_[i] = alias_split(n);
      else if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity") {
        noop_[i] = alias_reshape(n);
      } else if ((op == "Concat" || op == "QConcat") && values()[n.outputs[0]].nhwc) {
        place_concat_inputs(n);
      }
    }
  }

  bool alias_split(const Node& n) {
    const RtValue& x = values()[n.inputs[0]];
    if (x.constant || is_io(n.inputs[0])) return false;
    auto sizes = n.attr_ints("split");
    int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(x.shape.size());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
    if (!x.nhwc && outer != 1) return false;  // NCHW slices are contiguous only when nothing is outside the axis
    int64_t start = 0;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (is_io(n.outputs[k])) return false;
    }
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      RtValue& o = values()[n.outputs[k]];
      o.alias_of = n.inputs[0];
      o.alias_offset = x.nhwc ? start : start * inner;
      start += sizes[k];
    }
    return true;
  }

  bool alias_reshape(const Node& n) {
    int in = n.inputs[0], out = n.outputs[0];
    const RtValue& x = values()[in];
    if (x.constant || is_io(out) || values()[out].nhwc != x.nhwc) return false;
    if (x.nhwc && values()[out].shape != x.shape) return false;
    values()[out].alias_of = in;
    values()[out].alias_offset = 0;
    return true;
  }

  // Producers write straight into their channel slice of the concat buffer when it is safe: the
  // value (or the buffer it is a slice of) must land entirely on concat inputs that are its own slices,
  // so nothing it holds is overwritten by another input.
  void place_concat_inputs(Node& n) {
    int out = n.outputs[0];
    std::vector<int64_t> start;
    int64_t c = 0;
    for (int v : n.inputs) {
      start.push_back(c);
      c += values()[v].channels();
    }
    std::vector<int> placed(n.inputs.size(), 0);
    std::vector<bool> placeable(n.inputs.size(), true);
    if (n.op_type == "QConcat") {  // an input on another grid is re-quantized by the op, not placed
      auto scales = n.attrs.at("input_scales").floats;
      auto zps = n.attr_ints("input_zero_points");
      for (size_t j = 0; j < n.inputs.size(); ++j) {
        placeable[j] = scales[j] == n.attr_float("scale", 0) && zps[j] == n.attr_int("zero_point", -1);
      }
    }
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      int v = n.inputs[j];
      if (!placeable[j] || is_io(v) || values()[v].constant || !values()[v].nhwc) continue;
      int64_t off = 0;
      int r = root_of(v, &off);
      if (r == out) {
        placed[j] = off == start[j];  // already there through another input of the same buffer (or elsewhere: copy)
        continue;
      }
      if (values()[r].alias_of >= 0 || is_io(r) || values()[r].constant || !values()[r].nhwc || r == root_of(out, nullptr)) continue;
      int64_t q = start[j] - off, cr = values()[r].channels();
      if (q < 0 || q + cr > values()[out].channels()) continue;
      // Every channel of r's span must be covered by inputs that are slices of r at matching places.
      int64_t covered = 0;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        int64_t ok_off = 0;
        int rk = root_of(n.inputs[k], &ok_off);
        int64_t lo = start[k], hi = start[k] + values()[n.inputs[k]].channels();
        bool overlaps = lo < q + cr && hi > q;
        if (!overlaps) continue;
        if (rk != r || ok_off + q != start[k] || !placeable[k]) {
          covered = -1;
          break;
        }
        covered += hi - lo;
      }
      if (covered != cr) continue;
      values()[r].alias_of = out;
      values()[r].alias_offset = q;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        int64_t ok = 0;
        if (root_of(n.inputs[k], &ok) == out && ok == start[k]) placed[k] = 1;
      }
    }
    Attribute a;
    a.kind = Attribute::Kind::kInts;
    a.ints.assign(placed.begin(), placed.end());
    n.attrs["in_place"] = a;  // the concat op copies only the inputs not already in place
  }

  // --- memory --------------------------------------------------------------------------------------
  void plan_memory() {
    const int end_step = static_cast<int>(exec_.size());
    std::map<int, BufferRequest> roots;  // root value -> request
    auto touch = [&](int v, int step, bool write) {
      if (v < 0 || values()[v].constant) return;
      int r = root_of(v, nullptr);
      auto [it, fresh] = roots.try_emplace(r, BufferRequest{0, step, step});
      BufferRequest& req = it->second;
      if (fresh && !write) req.first_step = 0;  // read before any write here: an input
      req.first_step = std::min(req.first_step, step);
      req.last_step = std::max(req.last_step, step);
    };
    // Inputs belong to the caller between runs: alive from the first step to the last, never reused.
    for (int in : s_.inputs_) {
      touch(in, 0, true);
      touch(in, end_step, false);
    }
    for (int step = 0; step < end_step; ++step) {
      for (int v : exec_[step].inputs) touch(v, step, false);
      for (int v : exec_[step].outputs) touch(v, step, true);
    }
    for (int o : s_.outputs_) touch(o, end_step, false);

    std::vector<int> order;
    std::vector<BufferRequest> requests;
    for (auto& [r, req] : roots) {
      req.bytes = static_cast<size_t>(values()[r].storage_elems()) * dtype_size(values()[r].dtype);
      order.push_back(r);
      requests.push_back(req);
    }
    ArenaPlan plan = plan_arena(requests);
    if (plan.total_bytes > opt_.max_arena_bytes) {
      throw Error("the model needs " + std::to_string(plan.total_bytes >> 20) + " MiB of activation memory at this input size, more than the " +
                  std::to_string(opt_.max_arena_bytes >> 20) + " MiB limit");
    }
    s_.arena_bytes_ = plan.total_bytes;
    size_t bytes = (std::max<size_t>(plan.total_bytes, kArenaAlignment) + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    s_.arena_.reset(static_cast<float*>(std::aligned_alloc(kArenaAlignment, bytes)));
    if (!s_.arena_) throw Error("cannot allocate the " + std::to_string(plan.total_bytes >> 20) + " MiB activation arena");
    std::map<int, uint8_t*> base;
    for (size_t i = 0; i < order.size(); ++i) base[order[i]] = reinterpret_cast<uint8_t*>(s_.arena_.get()) + plan.offsets[i];
    for (size_t v = 0; v < values().size(); ++v) {
      RtValue& r = values()[v];
      if (r.constant) continue;
      int64_t off = 0;
      int root = root_of(static_cast<int>(v), &off);
      auto it = base.find(root);
      if (it == base.end()) continue;  // never used
      if (off != 0 && values()[root].dtype != r.dtype) throw Error("internal: view '" + r.name + "' of another element type");
      // Alias offsets count elements of the value's own type (views never change the type).
      r.data = reinterpret_cast<float*>(it->second + off * static_cast<int64_t>(dtype_size(r.dtype)));
      if (r.nhwc) r.pixel_stride = r.planar_halo >= 0 ? 0 : values()[root].channels();
    }
  }

  void create_ops() {
    for (size_t i = 0; i < exec_.size(); ++i) {
      if (noop_[i]) continue;
      OpBuildContext ctx{exec_[i], values(), s_.isa_, opt_.kernels, opt_.sparse_tune_window};
      s_.ops_.push_back(create_op(ctx));
      const Op& op = *s_.ops_.back();
      OpProfile p;
      p.node = op.node_name;
      p.op_type = op.op_type;
      p.kernel = op.kernel();
      p.isa = op.kernel_isa();
      p.macs = op.macs();
      p.integer = op.op_type == "QConv";
      s_.profile_.push_back(std::move(p));
    }
  }

  // --- dense or sparse convolutions (core/kernel_plan.h) ----------------------------------------------
  void choose_kernels() {
    KernelPlanReport& rep = s_.kernel_plan_;
    rep.mode = opt_.kernels;
    std::vector<size_t> open;  // ops with both kernels built
    for (size_t i = 0; i < s_.ops_.size(); ++i) {
      Op& op = *s_.ops_[i];
      const ConvSparsity* sp = op.conv_sparsity();
      if (!sp) continue;
      rep.convs++;
      rep.candidates += sp->candidate;
      OpProfile& p = s_.profile_[i];
      p.weight_zeros = sp->zero_fraction;
      p.choice = !sp->candidate ? "few zeros" : opt_.kernels == KernelMode::kAuto ? "" : "forced";
      if (op.kernel_choice()) open.push_back(i);
    }
    if (!open.empty()) decide(open);
    for (size_t i = 0; i < s_.ops_.size(); ++i) {
      OpProfile& p = s_.profile_[i];
      if (p.weight_zeros < 0) continue;
      p.kernel = s_.ops_[i]->kernel();
      p.isa = s_.ops_[i]->kernel_isa();
      p.sparse = p.kernel.rfind("spconv", 0) == 0;
      rep.sparse += p.sparse;
    }
  }

  // --- sparse convs in a row exchange planar tensors ------------------------------------------------------
  // After the dense/sparse choice. Where a sparse float conv without a residual input writes a value read
  // by exactly one op, as its input (not its residual), that op is a sparse float conv that can read it
  // planar (stride 1, its own padding as the halo), and the value is nobody's view and no model input or
  // output, the first conv writes it planar and the second reads it so: no transposes between them
  // (core/kernels/spconv_f32/README.md).
  // The arena is then planned again with the planar values' sizes (the ops read their buffers through
  // the values at run time, so nothing else holds the old addresses).
  void chain_sparse_planar() {
    if (!opt_.sparse_planar) return;
    const size_t nv = values().size(), nops = s_.ops_.size();
    std::vector<std::vector<std::pair<size_t, size_t>>> readers(nv);  // value -> (op, input slot)
    for (size_t i = 0; i < nops; ++i)
      for (size_t k = 0; k < s_.ops_[i]->inputs.size(); ++k)
        if (const int v = s_.ops_[i]->inputs[k]; v >= 0) readers[v].push_back({i, k});
    std::vector<bool> excluded(nv, false);  // views and what they view, model inputs and outputs
    for (size_t v = 0; v < nv; ++v)
      if (values()[v].alias_of >= 0) excluded[v] = excluded[root_of(static_cast<int>(v), nullptr)] = true;
    for (int v : s_.inputs_) excluded[v] = true;
    for (int v : s_.outputs_) excluded[v] = true;
    std::vector<int> in_halo(nops, -1), out_halo(nops, -1);
    for (size_t a = 0; a < nops; ++a) {
      const PlanarConv* pa = s_.ops_[a]->planar_conv();
      if (!pa || !pa->can_write_planar() || s_.ops_[a]->outputs.empty()) continue;
      const int v = s_.ops_[a]->outputs[0];
      RtValue& r = values()[v];
      if (excluded[v] || !r.nhwc || readers[v].size() != 1 || readers[v][0].second != 0) continue;
      const size_t b = readers[v][0].first;
      const PlanarConv* pb = s_.ops_[b]->planar_conv();
      const int halo = pb ? pb->planar_input_halo() : -1;
      if (halo < 0) continue;
      out_halo[a] = in_halo[b] = halo;
      r.planar_halo = halo;
      r.planar_floats = kernels::planar_layout(static_cast<int>(r.height()), static_cast<int>(r.width()),
                                               static_cast<int>(r.channels()), halo)
                            .floats;
    }
    bool any = false;
    for (size_t i = 0; i < nops; ++i) {
      if (in_halo[i] < 0 && out_halo[i] < 0) continue;
      s_.ops_[i]->planar_conv()->use_planar(in_halo[i], out_halo[i]);
      s_.profile_[i].kernel = s_.ops_[i]->kernel();
      any = true;
    }
    if (any) plan_memory();
  }

  // The sparse kernel's variant that runs fastest here (KernelChoice::sparse_variants), made the sparse
  // candidate; 0 when the layer has nothing to tune. *best_ms: its time (0 when only one was run).
  int tune_sparse_variant(KernelChoice& c, double* best_ms) {
    *best_ms = 0;
    const std::vector<int> variants = c.sparse_variants();
    if (variants.empty()) return 0;
    int best = variants.front();
    if (variants.size() > 1) {
      // Variants are close to each other more often than dense and sparse are (rarely a clear winner to
      // stop early on), and a near tie costs little either way: a smaller budget keeps the first start's
      // timing short (p70 YOLO11n-pose, 62 candidates, Zen 4: 40 ms budgets took 2.1 s at one thread).
      constexpr TimingBudget kVariantBudget{12, 2, 5};
      const std::vector<double> ms = time_candidates(
          static_cast<int>(variants.size()), [&](int i) { c.run_sparse_variant(variants[i], s_.pool_.get()); },
          kVariantBudget);
      // The cost model's pick (variants[0]) unless another size is clearly faster: on a near tie the
      // timing's noise decides nothing (as for dense against sparse below).
      constexpr double kVariantMargin = 0.97;
      const auto fastest = std::min_element(ms.begin(), ms.end());
      const bool clearly = *fastest < kVariantMargin * ms.front();
      best = clearly ? variants[fastest - ms.begin()] : variants.front();
      *best_ms = clearly ? *fastest : ms.front();
    }
    c.use_sparse_variant(best);
    return best;
  }

  // A cached plan's variants, applied to the candidates; false (the plan is not used) if one of them is
  // not a variant its layer has, or if under --kernels sparse it keeps a dense kernel (a corrupt file:
  // the key covers everything else).
  // Checked for every layer before any is applied, so that a rejected plan leaves each candidate at the
  // cost model's pick, which the timing then starts from.
  bool variants_apply(const std::vector<size_t>& open, const std::vector<PlannedLayer>& plan) {
    for (size_t k = 0; k < open.size(); ++k) {
      const std::vector<int> variants = s_.ops_[open[k]]->kernel_choice()->sparse_variants();
      if (opt_.kernels == KernelMode::kSparse && !plan[k].sparse) return false;
      if (variants.empty() != (plan[k].sparse_variant == 0)) return false;
      if (!variants.empty() && std::find(variants.begin(), variants.end(), plan[k].sparse_variant) == variants.end())
        return false;
    }
    for (size_t k = 0; k < open.size(); ++k)
      if (plan[k].sparse_variant != 0) s_.ops_[open[k]]->kernel_choice()->use_sparse_variant(plan[k].sparse_variant);
    return true;
  }

  // The cached plan if there is one for exactly these candidates on this machine, else time. Under auto,
  // timing first tunes each sparse candidate's variant, then times it against the dense kernel; under
  // --kernels sparse the candidates are the sparse kernels with variants, and only those are tuned.
  void decide(const std::vector<size_t>& open) {
    KernelPlanReport& rep = s_.kernel_plan_;
    const bool sparse_only = opt_.kernels == KernelMode::kSparse;
    std::vector<std::string> nodes;
    uint64_t key = hash_string("sparsepose kernel plan", 1);
    key = hash_string(kernel_mode_name(opt_.kernels), key);
    key = hash_string(build_identity(), key);  // another build's kernels time differently
    key = hash_string(detect_cpu().brand, key);
    key = hash_string(isa_name(s_.isa_), key);
    key = hash_u64(static_cast<uint64_t>(s_.pool_->num_threads()), key);
    for (size_t i : open) {
      nodes.push_back(s_.ops_[i]->node_name);
      key = hash_string(nodes.back(), key);
      key = hash_u64(s_.ops_[i]->kernel_choice()->fingerprint(), key);
    }
    const std::string dir = opt_.kernel_cache ? kernel_plan_cache_dir(opt_.kernel_cache_dir) : "";
    const std::string path = dir.empty() ? "" : kernel_plan_path(dir, key);
    std::vector<PlannedLayer> plan;
    if (!path.empty()) {
      if (auto cached = read_kernel_plan(path, key, nodes); cached && variants_apply(open, *cached)) {
        plan = std::move(*cached);
        rep.from_cache = true;
      }
    }
    if (!rep.from_cache) {
      const auto t0 = std::chrono::steady_clock::now();
      const CpuContention contention;
      for (size_t k = 0; k < open.size(); ++k) {
        KernelChoice* c = s_.ops_[open[k]]->kernel_choice();
        PlannedLayer l;
        l.node = nodes[k];
        l.sparse_variant = tune_sparse_variant(*c, &l.timing.sparse_ms);
        if (sparse_only) {
          l.sparse = true;
        } else {
          l.timing = time_dense_sparse([&](bool sparse) { c->run_candidate(sparse, s_.pool_.get()); });
          // Sparse only when clearly faster: on a near tie the timing's noise decides nothing, and the
          // dense kernels are the ones every other path is tested and tuned on.
          constexpr double kSparseMargin = 0.97;
          l.sparse = l.timing.sparse_ms < kSparseMargin * l.timing.dense_ms;
        }
        plan.push_back(std::move(l));
        c->keep(plan.back().sparse);  // frees the loser and the timing buffers before the next layer
      }
      rep.timed = static_cast<int>(open.size());
      rep.timing_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rep.preemptions_per_s = contention.preemptions_per_s(s_.pool_->num_threads());
      const double limit = opt_.kernel_cache_busy_limit;
      rep.busy = limit > 0 && rep.preemptions_per_s > limit;
      if (!path.empty() && !rep.busy && write_kernel_plan(path, key, plan)) rep.cache_file = path;
    } else {
      rep.cache_file = path;
    }
    for (size_t k = 0; k < open.size(); ++k) {
      Op& op = *s_.ops_[open[k]];
      if (KernelChoice* c = op.kernel_choice()) c->keep(plan[k].sparse);
      OpProfile& p = s_.profile_[open[k]];
      if (sparse_only) continue;  // "forced": only the variant was timed
      p.choice = rep.from_cache ? "cached" : "timed";
      p.dense_ms = plan[k].timing.dense_ms;
      p.sparse_ms = plan[k].timing.sparse_ms;
    }
  }
};

Session::Session(const Graph& model, const SessionOptions& options)
    : isa_(options.isa), profiling_(options.profile) {
  if (!isa_supported(isa_)) throw Error("this CPU does not support ISA '" + std::string(isa_name(isa_)) + "'");
  const int threads = resolve_thread_count(options.threads);
  if (threads > 256) throw Error("too many threads: " + std::to_string(threads));
  pool_ = std::make_unique<ThreadPool>(threads);
  SessionCompiler(*this, model, options).compile();
}

Session::~Session() = default;

float* Session::input_data(size_t i) {
  if (input_dtype(i) != DType::kFloat32) throw Error("input " + std::to_string(i) + " is u8: use input_u8()");
  return values_.at(inputs_.at(i)).data;
}
uint8_t* Session::input_u8(size_t i) {
  if (input_dtype(i) != DType::kUInt8) throw Error("input " + std::to_string(i) + " is float: use input_data()");
  return reinterpret_cast<uint8_t*>(values_.at(inputs_.at(i)).data);
}
DType Session::input_dtype(size_t i) const { return values_.at(inputs_.at(i)).dtype; }
float Session::input_scale(size_t i) const {
  for (const auto& q : integer_report_.u8_inputs) if (q.value == inputs_.at(i)) return q.scale;
  return 1.0f;
}
int Session::input_zero_point(size_t i) const {
  for (const auto& q : integer_report_.u8_inputs) if (q.value == inputs_.at(i)) return q.zero_point;
  return 0;
}
const Shape& Session::input_shape(size_t i) const { return values_.at(inputs_.at(i)).shape; }
const float* Session::output_data(size_t i) const { return values_.at(outputs_.at(i)).data; }
const Shape& Session::output_shape(size_t i) const { return values_.at(outputs_.at(i)).shape; }
const std::string& Session::output_name(size_t i) const { return output_names_.at(i); }
bool Session::output_nhwc(size_t i) const { return values_.at(outputs_.at(i)).nhwc; }
int64_t Session::output_pixel_stride(size_t i) const { return values_.at(outputs_.at(i)).pixel_stride; }

int64_t Session::total_macs() const {
  int64_t m = 0;
  for (const auto& op : ops_) m += op->macs();
  return m;
}

std::vector<Session::KernelIsaShare> Session::kernel_isas() const {
  std::vector<KernelIsaShare> shares;
  // Ops that multiply-accumulate decide; a graph of pure data movement reports what its ops run.
  const bool any_macs = total_macs() > 0;
  for (const auto& op : ops_) {
    if (any_macs && op->macs() == 0) continue;
    const std::string isa = op->kernel_isa();
    auto it = std::find_if(shares.begin(), shares.end(), [&](const KernelIsaShare& k) { return k.isa == isa; });
    if (it == shares.end()) it = shares.insert(shares.end(), KernelIsaShare{isa, 0, 0});
    it->macs += op->macs();
    it->ops += 1;
  }
  std::stable_sort(shares.begin(), shares.end(), [](const KernelIsaShare& a, const KernelIsaShare& b) { return a.macs > b.macs; });
  return shares;
}

std::string Session::kernel_isa_summary() const {
  std::string s;
  for (const auto& k : kernel_isas()) s += (s.empty() ? "" : "+") + k.isa;
  return s.empty() ? std::string(isa_name(float_isa(isa_))) : s;
}

void Session::reset_profile() {
  for (auto& p : profile_) p.total_ms = 0;
  profiled_runs_ = 0;
}

void Session::run() {
  RunContext ctx{values_, pool_.get(), isa_};
  if (!profiling_) {
    for (auto& op : ops_) op->run(ctx);
    return;
  }
  for (size_t i = 0; i < ops_.size(); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ops_[i]->run(ctx);
    profile_[i].total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  ++profiled_runs_;
}

}  // namespace sp
