"""Chapter 4's exercises: the seed's questions about attention, as code the learner writes.

Each is a piece the lab (nn2gpt.lab) already varies - the squared score, the inverse score in
either reading, the anticausal mask - checked against the lab's own (nn2gpt.nn.scores, masks),
and `nn2gpt learn run lab` trains the learner's versions against the scaled dot product.
"""
