"""Physics, hybrid and co-simulation models that ship with futago."""
