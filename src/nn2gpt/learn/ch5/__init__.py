"""Chapter 5's exercises: the numpy GPT's backward passes, written by the learner.

Each is checked against chapter 5's own layers (nn2gpt.numpy_gpt.layers and attention) and
against finite differences in float64; `nn2gpt learn run numpy-gpt` then trains the numpy GPT
with the learner's passes in place of chapter 5's. Exercise numbers 41-45: the tens digit is
the chapter minus one (ch.1 is 0x, ch.2 1x), so the road's order holds as chapters fill in.
"""
