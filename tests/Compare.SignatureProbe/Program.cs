// Prints the default-parameter signature of standard input: the determinism tests compare it
// with the signature computed inside the test process.
using Compare.Core;
using Compare.Core.Indexing;

string text = await Console.In.ReadToEndAsync();
Console.Write(string.Join(',', new DocumentSketcher(SketchParameters.Default).Sketch(text).Signature));
