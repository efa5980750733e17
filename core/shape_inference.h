// Shape inference and constant folding. After a Session fixes the input shape, every value's shape
// is known and every shape computation (Shape → Gather → Concat → Reshape chains of dynamic exports)
// folds into constants, so the runtime sees only static shapes.
#pragma once

#include <vector>

#include "core/graph.h"

namespace sp {

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node);

// Sets the output dtypes and shapes of `node` from its inputs. Throws sp::Error naming the node.
// `spatial_scale` (h, w) is how much the input image was resized against the shape the model was
// exported with; it lets static exports' baked Reshape targets follow the new size.
void infer_node_shapes(Graph& g, Node& node, const std::pair<double, double>& spatial_scale);

// Computes a node whose inputs are all constant (or a Shape whose input shape is known).
// Returns false when the op is not evaluated at load time (it then runs in the Session).
bool fold_node(Graph& g, Node& node);

// Fixes the graph inputs' shapes, then infers and folds in topological order.
void specialize_shapes(Graph& g, const std::vector<Shape>& input_shapes);

}  // namespace sp
