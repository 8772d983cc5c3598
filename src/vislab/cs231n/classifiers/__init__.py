"""`cs231n.classifiers` over vislab: `vislab.cs231n.classifiers.rnn.CaptioningRNN`."""
