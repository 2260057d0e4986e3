"""Cross-entropy with label smoothing, padding ignored."""

import torch
import torch.nn.functional as F


def label_smoothed_loss(logits, targets, eps, pad_id):
    """logits (B, T, V), targets (B, T) long -> the mean label-smoothed loss over non-pad targets."""
    logp = F.log_softmax(logits, dim=-1)                                # (B, T, V)
    nll = -logp.gather(-1, targets[..., None]).squeeze(-1)              # (B, T)
    uniform = -logp.mean(dim=-1)                                        # (B, T)
    loss = (1 - eps) * nll + eps * uniform
    real = targets != pad_id
    return loss[real].mean()
