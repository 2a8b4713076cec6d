// The Express 4 devDependency (an npm alias) has no types of its own; the
// tests use it through Express 5's, casting where they differ.
declare module "express4" {
  import express from "express";
  export default express;
}
