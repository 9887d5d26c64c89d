"""MongoDB loaders: job output -> indexed serving collections, and the queries over them."""
