// The dashboard's page scripts and style sheet are imported as text (`with { type: "text" }`), which
// `bun build --compile` embeds in the binary.
declare module "*.js" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
