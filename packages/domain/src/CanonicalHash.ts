// placeholder, written by the domain work
export {}
