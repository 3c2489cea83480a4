/* placeholder: filled in with the test server work */
