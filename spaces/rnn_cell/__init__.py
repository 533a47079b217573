"""The ``rnn_cell`` search space: recurrent cells as DAGs, mutated by network morphisms."""
