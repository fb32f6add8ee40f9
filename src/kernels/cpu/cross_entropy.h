// Cross-entropy of logits against next-token targets (methods.md E1):
//   loss_i = logsumexp(z_i) - z_i[y_i]   (nats), max-subtracted, accumulated in double.
// Targets < 0 are not scored (loss 0, no gradient). Not a softmax layer: probabilities are never
// kept; the backward recomputes them from the logits.
#pragma once

#include <cstdint>

namespace stretch::cpu {

// logits [N, V]; targets [N]; losses [N] out; hits [N] out (1 if argmax == target; may be null).
template <class T>
void cross_entropy_forward(const T* logits, const std::int32_t* targets, double* losses, std::uint8_t* hits,
                           std::int64_t n, std::int64_t v);

// dlogits[i] += weight * (softmax(z_i) - onehot(y_i)) for scored rows.
template <class T>
void cross_entropy_backward(const T* logits, const std::int32_t* targets, T* dlogits, std::int64_t n, std::int64_t v,
                            T weight);

}  // namespace stretch::cpu
