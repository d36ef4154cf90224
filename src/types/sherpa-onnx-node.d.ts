// sherpa-onnx-node ships JSDoc, not TypeScript declarations. Its objects are used through the
// engine classes in src/engines only, which type their own surface.
declare module "sherpa-onnx-node" {
  const sherpa: any;
  export default sherpa;
}
