"""Word vectors: gensim word2vec trained on the corpus, evaluated on standard test sets.

The corpus exists to train something, and word2vec is its classic consumer; training it and
scoring the vectors on analogy and word-similarity sets also checks the corpus end to end, since
bad segmentation or leftover markup shows up as poor scores and junk neighbours.

Modules: :mod:`.train` (``train_word2vec``), :mod:`.formats` (reading the test sets as users
find them), :mod:`.evaluate` (loading vectors, analogy and similarity scores, neighbours) and
:mod:`.commands` (``prep w2v …``). Nothing here imports gensim at package import time, so
``prep --help`` stays fast.
"""
