#:project ../../src/Cluster.Signal/Cluster.Signal.csproj
// Signs with Cluster.Signal (C#) so that verify-csharp.mjs can check the signatures with libsignal.
// Usage: dotnet run sign-with-csharp.cs -- <output.json>
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Signal;

var identitiesPath = Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? ".", "..", "Cluster.Signal.Tests", "Vectors", "identities.json");
var identities = JsonNode.Parse(File.ReadAllText(identitiesPath))!["identities"]!.AsArray();

byte[][] messages =
[
    [],
    Encoding.UTF8.GetBytes("signed in C#"),
    new LinkingMetadata("+15551230001", 1, 1767225600000).ToBytes(),
    new KeyIndexList("+15551230001", 1767225600001, 2, [1, 2]).ToBytes(),
];

var signatures = new JsonArray();
void Add(string source, ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, byte[] message, byte[] signature) =>
    signatures.Add((JsonNode)new JsonObject
    {
        ["source"] = source,
        ["privateKey"] = Convert.ToBase64String(privateKey),
        ["publicKey"] = Convert.ToBase64String(publicKey),
        ["message"] = Convert.ToBase64String(message),
        ["signature"] = Convert.ToBase64String(signature),
    });

foreach (var identity in identities)
{
    var privateKey = Convert.FromBase64String(identity!["privateKey"]!.GetValue<string>());
    var publicKey = Convert.FromBase64String(identity["publicKey"]!.GetValue<string>());
    foreach (var message in messages)
    {
        Add($"libsignal key {identity["name"]}", privateKey, publicKey, message, XEdDsa.Sign(privateKey, message));
    }
}

for (var i = 0; i < 8; i++)
{
    var keyPair = ECKeyPair.Generate();
    var preKey = ECKeyPair.Generate();
    Add("C# key", keyPair.PrivateKey.Span, keyPair.PublicKey.Span, preKey.PublicKey.ToArray(), keyPair.Sign(preKey.PublicKey.Span));
}

File.WriteAllText(args[0], signatures.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
Console.Error.WriteLine($"wrote {signatures.Count} C# signatures to {args[0]}");
