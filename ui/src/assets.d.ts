// What Vite gives for an import with `?url`: the asset's URL in the build.
declare module "*?url" {
  const url: string;
  export default url;
}
