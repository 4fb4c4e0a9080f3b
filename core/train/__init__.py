"""The training engine: phases, checkpoints, devices, tf.distribute, TensorBoard."""
