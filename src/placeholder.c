int loader_placeholder(void); int loader_placeholder(void) { return 0; }
