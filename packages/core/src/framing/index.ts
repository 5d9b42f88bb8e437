export { LineSplitter } from './line-splitter.js'
export type { LineEdges, LineSplitterOptions } from './line-splitter.js'
export { JsonLineReader } from './json-line-reader.js'
export type { JsonLineReaderOptions, NoiseEvent, NoiseReason } from './json-line-reader.js'
