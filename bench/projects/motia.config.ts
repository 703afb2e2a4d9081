// Copied next to the steps only for classic Motia: without it Motia's first start tries to install plugins.
export default { plugins: [] }
