using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cluster.Security.Tests;

/// <summary>A valid request to one route, as the matrix makes it, with the credentials of the accounts it was made for.</summary>
internal sealed record Seed(SiloRoute Route, string Method, string Path, byte[]? Body, string? ContentType, IReadOnlyList<string> Credentials);

/// <summary>A request the fuzzer made: well framed (sent with HttpClient) or raw bytes (sent over a bare connection).</summary>
internal sealed record FuzzRequest(string Description)
{
    public string? Method { get; init; }

    public string? Path { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public byte[]? Body { get; init; }

    public string? ContentType { get; init; }

    public IReadOnlyList<byte[]>? Raw { get; init; }

    public RawEnding Ending { get; init; }
}

/// <summary>
/// Makes malformed requests from valid seeds, deterministically: request <c>i</c> of seed <c>s</c> is always the same
/// bytes. Breaks JSON bodies (wrong types, nulls, huge numbers, huge strings and arrays, bad base64, wrong key lengths,
/// lone surrogates, invalid UTF-8, truncation), headers (Content-Type, Authorization), paths and ids, and the framing
/// itself (Content-Length lies, bad chunking, bodies cut short or reset, bytes that are not HTTP).
/// </summary>
internal sealed partial class Fuzzer(IReadOnlyList<Seed> seeds, IReadOnlyList<string> knownIds, Uri server)
{
    /// <summary>What a request naming an HTTP version the server does not speak is called in its description.</summary>
    public const string UnsupportedVersion = "HTTP/9.9";

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FUZZ"];

    private static readonly string?[] ContentTypes =
    [
        null, "text/plain", "application/json; charset=utf-16", "application/json; charset=latin1", "application/json; charset=\"",
        "application/problem+json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream",
        "json", "application/", ";", "application/json, text/html", "APPLICATION/JSON", "application/json;;;",
    ];

    private static readonly byte[][] BadUtf8 = [[0xC3, 0x28], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]];

    private readonly IReadOnlyList<SiloRoute> routes = [.. seeds.Select(s => s.Route).DistinctBy(r => r.Key)];

    /// <summary>The request for index <paramref name="index"/> of the run seeded with <paramref name="seed"/>.</summary>
    public FuzzRequest Next(int seed, int index)
    {
        // Not HashCode.Combine: it is seeded afresh in every process.
        var random = new Random(unchecked((seed * 1_000_003) + index));

        // Every route equally often, whatever the number of seeds each has.
        var route = routes[random.Next(routes.Count)];
        var forRoute = seeds.Where(s => s.Route.Key == route.Key).ToList();
        var chosen = forRoute[random.Next(forRoute.Count)];
        return random.Next(100) switch
        {
            < 72 => Structured(random, chosen),
            < 92 => Framing(random, chosen),
            _ => Garbage(random, chosen),
        };
    }

    private FuzzRequest Structured(Random random, Seed seed)
    {
        var what = new List<string>();
        var method = seed.Method;
        if (random.Next(100) < 6)
        {
            method = Pick(random, Methods);
            what.Add("method " + method);
        }

        var path = MutatePath(random, seed, what);
        var headers = new List<KeyValuePair<string, string>>();
        if (Authorization(random, seed.Credentials, what) is { } authorization)
        {
            headers.Add(new("Authorization", authorization));
        }

        var contentType = seed.ContentType;
        if (random.Next(100) < 12)
        {
            contentType = Pick(random, ContentTypes);
            what.Add($"content-type {contentType ?? "none"}");
        }

        byte[]? body;
        if (seed.Body is { Length: > 0 } && IsJson(seed))
        {
            body = random.Next(100) < 85 ? MutateJson(random, seed.Body, what) : WholeBody(random, seed.Body, what);
        }
        else if (seed.Body is { Length: > 0 })
        {
            body = random.Next(100) < 50 ? WholeBody(random, seed.Body, what) : seed.Body;
        }
        else
        {
            body = random.Next(100) < 30 ? WholeBody(random, "{}"u8.ToArray(), what) : null;
            contentType ??= body is null ? null : "application/json";
        }

        return new FuzzRequest($"{method} {seed.Route.Pattern}: {string.Join("; ", what)}")
        {
            Method = method,
            Path = path,
            Headers = headers,
            Body = body,
            ContentType = body is null ? null : contentType,
        };
    }

    /// <summary>The seed's request, with valid framing, as bytes to break.</summary>
    private (string Head, byte[] Body) Serialize(Random random, Seed seed)
    {
        var what = new List<string>();
        var body = seed.Body is { Length: > 0 } && IsJson(seed) && random.Next(2) == 0 ? MutateJson(random, seed.Body, what) : seed.Body ?? [];
        var head = new StringBuilder($"{seed.Method} {seed.Path} HTTP/1.1\r\nHost: {server.Host}:{server.Port}\r\n");
        if (Authorization(random, seed.Credentials, what) is { } authorization)
        {
            head.Append("Authorization: ").Append(authorization).Append("\r\n");
        }

        if (seed.ContentType is { } contentType)
        {
            head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }

        return (head.ToString(), body);
    }

    private FuzzRequest Framing(Random random, Seed seed)
    {
        var (head, body) = Serialize(random, seed);
        var kind = random.Next(14);
        var cut = body.Length == 0 ? 0 : random.Next(body.Length);
        byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);
        FuzzRequest Make(string what, RawEnding ending, params byte[][] pieces) =>
            new($"raw {seed.Method} {seed.Route.Pattern}: {what}") { Raw = pieces, Ending = ending };

        switch (kind)
        {
            case 0:
                return Make("Content-Length larger than the body, then FIN", RawEnding.HalfClose, Bytes($"{head}Content-Length: {body.Length + 1 + random.Next(10_000)}\r\n\r\n"), body);
            case 1:
                return Make("Content-Length smaller than the body", RawEnding.Open, Bytes($"{head}Content-Length: {cut}\r\n\r\n"), body);
            case 2:
                var lie = Pick(random, ["abc", "-1", "1e3", "99999999999999999999", " 5 ", "0x10", "", "+5", "5, 6"]);
                return Make($"Content-Length '{lie}'", RawEnding.HalfClose, Bytes($"{head}Content-Length: {lie}\r\n\r\n"), body);
            case 3:
                return Make("two different Content-Lengths", RawEnding.HalfClose, Bytes($"{head}Content-Length: {body.Length}\r\nContent-Length: {cut}\r\n\r\n"), body);
            case 4:
                return Make("Content-Length and chunked", RawEnding.HalfClose, Bytes($"{head}Content-Length: {body.Length}\r\nTransfer-Encoding: chunked\r\n\r\n"), Chunked(random, body, valid: true));
            case 5:
                return Make("chunked, split at random", RawEnding.Open, Bytes($"{head}Transfer-Encoding: chunked\r\n\r\n"), Chunked(random, body, valid: true));
            case 6:
                return Make("chunked, malformed", RawEnding.HalfClose, Bytes($"{head}Transfer-Encoding: chunked\r\n\r\n"), Chunked(random, body, valid: false));
            case 7:
                return Make("chunked, cut short, then FIN", RawEnding.HalfClose, Bytes($"{head}Transfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n"), body[..cut]);
            case 8:
                var unknownEncoding = Pick(random, ["gzip", "chunked, gzip", "identity", "xyz", "chunked;q=1"]);
                return Make($"Transfer-Encoding {unknownEncoding}", RawEnding.HalfClose, Bytes($"{head}Transfer-Encoding: {unknownEncoding}\r\n\r\n"), body);
            case 9:
                var whole = Concat(Bytes($"{head}Content-Length: {body.Length}\r\n\r\n"), body);
                return Make("a valid request in many small writes", RawEnding.Open, [.. Split(random, whole)]);
            case 10:
                return Make("the body cut short, then RST", RawEnding.Reset, Bytes($"{head}Content-Length: {body.Length + 100}\r\n\r\n"), body[..cut]);
            case 11:
                return Make("Expect: 100-continue, no body, FIN", RawEnding.HalfClose, Bytes($"{head}Content-Length: {body.Length + 1}\r\nExpect: 100-continue\r\n\r\n"));
            case 12:
                return Make("the head cut short, then FIN", RawEnding.HalfClose, Bytes(head[..random.Next(head.Length)]));
            default:
                return Make("a request and garbage pipelined after it", RawEnding.Open, Bytes($"{head}Content-Length: {body.Length}\r\n\r\n"), body, RandomBytes(random, random.Next(1, 300)));
        }
    }

    private FuzzRequest Garbage(Random random, Seed seed)
    {
        var host = $"Host: {server.Host}:{server.Port}\r\n";
        var path = seed.Path;
        var credential = seed.Credentials.Count > 0 ? seed.Credentials[0] : "Basic eA==";
        var (what, text) = random.Next(16) switch
        {
            0 => ("random bytes", Encoding.Latin1.GetString(RandomBytes(random, random.Next(1, 2000)))),
            1 => ("no CRLF at all", $"{seed.Method} {path} HTTP/1.1"),
            2 => (UnsupportedVersion, $"{seed.Method} {path} HTTP/9.9\r\n{host}\r\n"),
            3 => ("lower-case method", $"{seed.Method.ToLowerInvariant()} {path} HTTP/1.1\r\n{host}\r\n"),
            4 => ("raw bytes in the path", $"{seed.Method} {path}/\u00e9\u00ff%ZZ%00 x HTTP/1.1\r\n{host}\r\n"),
            5 => ("a 12 KiB path", $"{seed.Method} {path}/{new string('a', 12 * 1024)} HTTP/1.1\r\n{host}\r\n"),
            6 => ("dot segments", $"{seed.Method} /v1/../v1/./{path.TrimStart('/')}/.. HTTP/1.1\r\n{host}\r\n"),
            7 => ("absolute-form target", $"{seed.Method} http://evil.example{path} HTTP/1.1\r\n{host}\r\n"),
            8 => ("a header without a colon", $"{seed.Method} {path} HTTP/1.1\r\n{host}Authorization {credential}\r\n\r\n"),
            9 => ("NUL and CR in a header", $"{seed.Method} {path} HTTP/1.1\r\n{host}Authorization: Basic\0x\rx\r\n\r\n"),
            10 => ("a folded header", $"{seed.Method} {path} HTTP/1.1\r\n{host}Authorization: Basic\r\n {credential}\r\n\r\n"),
            11 => ("a 40 KiB header", $"{seed.Method} {path} HTTP/1.1\r\n{host}X-Big: {new string('b', 40 * 1024)}\r\n\r\n"),
            12 => ("200 headers", $"{seed.Method} {path} HTTP/1.1\r\n{host}{string.Concat(Enumerable.Range(0, 200).Select(i => $"X-{i}: {i}\r\n"))}\r\n"),
            13 => ("non-ASCII credentials", $"{seed.Method} {path} HTTP/1.1\r\n{host}Authorization: Basic \u00e9\u00ff\u0080{credential}\r\n\r\n"),
            14 => ("no Host, two Hosts, a bad Host", Pick(random, [
                $"{seed.Method} {path} HTTP/1.1\r\n\r\n",
                $"{seed.Method} {path} HTTP/1.1\r\n{host}{host}\r\n",
                $"{seed.Method} {path} HTTP/1.1\r\nHost: a b\r\n\r\n",
                $"{seed.Method} {path} HTTP/1.0\r\n\r\n"])),
            _ => ("an HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        };
        return new FuzzRequest($"raw {seed.Route.Pattern}: {what}") { Raw = [Encoding.Latin1.GetBytes(text)], Ending = RawEnding.HalfClose };
    }

    /// <summary>Authorization header values: mostly real credentials (so that bodies reach validation), else broken ones.</summary>
    private string? Authorization(Random random, IReadOnlyList<string> credentials, List<string> what)
    {
        var roll = random.Next(100);
        if (roll < 72 && credentials.Count > 0)
        {
            return credentials[roll % credentials.Count];
        }

        var login = knownIds.Count > 0 ? knownIds[0] + ".1" : "+15550001234.1";
        string Basic(string text) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        var value = Pick(random, [
            null, "Basic", "Basic !!!!", Basic("nocolon"), Basic(":"), Basic(login + ":"), Basic(login + ":" + new string('x', 200)),
            Basic(login + ":" + new string('x', 100)), Basic("+1.1:password-password"), Basic("notanumber.1:password-password"),
            Basic(login[..^2] + ".0:password-password"), Basic(login[..^2] + ".-1:password-password"), Basic(login[..^2] + ".99999999999:password-password"),
            Basic(login[..^2] + ".1e3:password-password"), Basic(login[..^2] + ".1.2:password-password"), Basic(login[..^2] + ":password-password"),
            "Basic " + Convert.ToBase64String([0xFF, 0xFE, 0x3A, 0xC3, 0x28]), Basic("\ud800.1:\udc00"), "Bearer token", "Digest username=x",
            "Basic " + new string('A', 6000), credentials.Count > 0 ? credentials[0].ToLowerInvariant() : null,
            credentials.Count > 0 ? credentials[0] + "==" : null, credentials.Count > 0 ? credentials[0].Replace(" ", "   ", StringComparison.Ordinal) : null,
        ]);
        what.Add("authorization " + (value is null ? "none" : value.Length > 40 ? value[..40] + "…" : value));
        return value;
    }

    private string MutatePath(Random random, Seed seed, List<string> what)
    {
        var segments = seed.Path.Split('?')[0].Split('/');
        var pattern = seed.Route.Pattern.Split('/');
        var parameters = Enumerable.Range(0, Math.Min(segments.Length, pattern.Length)).Where(i => pattern[i].StartsWith('{')).ToList();
        var roll = random.Next(100);
        if (roll < 25 && parameters.Count > 0)
        {
            var at = parameters[random.Next(parameters.Count)];
            var value = PathValue(random);
            segments[at] = Uri.EscapeDataString(value);
            what.Add($"{pattern[at]} = '{(value.Length > 40 ? value[..40] + "…" : value)}'");
        }
        else if (roll < 30)
        {
            var suffix = Pick(random, ["/extra", "/", "//", "/%2F", "?x=%FF&&=&x=1", "?login=a&password=b", "/..%2F..", "%00"]);
            what.Add("path + " + suffix);
            return seed.Path + suffix;
        }

        return string.Join('/', segments) + (seed.Path.Contains('?', StringComparison.Ordinal) ? "?" + seed.Path.Split('?', 2)[1] : "");
    }

    private string PathValue(Random random) => random.Next(4) == 0 && knownIds.Count > 0
        ? knownIds[random.Next(knownIds.Count)]
        : Pick(random, [
            "", "0", "-1", "1", "2", "3", "6", "1.5", "1e3", "2147483647", "2147483648", "99999999999999999999", "+", "+0", "+1", "+123",
            "+15551234567890123", "*", "**", "null", "undefined", "..", ".", new string('a', 300), new string('9', 3000), "\ud83d\ude00", "\u00e9",
            "\ud800", "00000000-0000-0000-0000-000000000000", "{00000000-0000-0000-0000-000000000000}", new Guid(RandomBytes(random, 16)).ToString("N"),
            new Guid(RandomBytes(random, 16)).ToString().ToUpperInvariant(), new string('f', 31), new string('f', 33), new string('F', 32), new string('A', 21),
            new string('A', 22), new string('A', 23), "AAAAAAAAAAAAAAAAAAAA==", " ", "a/b", "a\\b", "%", "\0",
        ]);

    /// <summary>One to three breaks of a JSON body: a member replaced, removed, added, renamed, duplicated or wrapped.</summary>
    private static byte[] MutateJson(Random random, byte[] body, List<string> what)
    {
        var root = JsonNode.Parse(body)!;
        var raw = new List<byte[]>();
        var duplicates = new List<(string Key, byte[] Value)>();
        var count = random.Next(1, 4);
        for (var i = 0; i < count; i++)
        {
            var slots = new List<(JsonNode Parent, string? Key, int Index)>();
            Collect(root, slots);
            if (slots.Count == 0)
            {
                break;
            }

            var (parent, key, index) = slots[random.Next(slots.Count)];
            var name = key ?? $"[{index}]";
            var current = key is not null ? parent[key] : parent[index];
            switch (random.Next(100))
            {
                case < 55:
                    var (label, value) = random.Next(4) == 0 && Subtle(random, current) is { } subtle ? subtle : Nasty(random, current);
                    Set(parent, key, index, Placeholder(raw, value));
                    what.Add($"{name} = {label}");
                    break;
                case < 65:
                    Remove(parent, key, index);
                    what.Add($"{name} removed");
                    break;
                case < 75 when parent is JsonObject added:
                    var (addedLabel, addedValue) = Nasty(random, null);
                    added[Pick(random, ["__proto__", "constructor", "extra", "", "\u00e9", "a\u0000b"])] = Placeholder(raw, addedValue);
                    what.Add($"unknown member = {addedLabel}");
                    break;
                case < 82 when parent is JsonObject renamed && key is not null:
                    var copy = renamed[key]?.DeepClone();
                    renamed.Remove(key);
                    renamed[random.Next(2) == 0 ? key.ToUpperInvariant() : key + " "] = copy;
                    what.Add($"{name} renamed");
                    break;
                case < 90 when parent is JsonObject && key is not null:
                    // The same name twice: written in front of the first member of that name once serialized.
                    var (dupLabel, dupValue) = Nasty(random, current);
                    duplicates.Add((key, dupValue));
                    what.Add($"{name} twice, first as {dupLabel}");
                    break;
                default:
                    var wrapped = current?.DeepClone();
                    Set(parent, key, index, random.Next(2) == 0 ? new JsonArray(wrapped) : new JsonObject { ["value"] = wrapped });
                    what.Add($"{name} wrapped");
                    break;
            }
        }

        var rendered = Render(root, raw);
        foreach (var (key, value) in duplicates)
        {
            var name = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(key);
            var at = rendered.AsSpan().IndexOf([.. name, (byte)':']);
            if (at >= 0)
            {
                rendered = [.. rendered[..at], .. name, (byte)':', .. value, (byte)',', .. rendered[at..]];
            }
        }

        return rendered;
    }

    /// <summary>Serializes <paramref name="root"/> and puts each raw fragment where its placeholder is.</summary>
    private static byte[] Render(JsonNode root, List<byte[]> raw)
    {
        var text = root.ToJsonString();
        var output = new List<byte>(text.Length);
        var last = 0;
        foreach (Match match in PlaceholderPattern().Matches(text))
        {
            output.AddRange(Encoding.UTF8.GetBytes(text[last..match.Index]));
            output.AddRange(raw[int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)]);
            last = match.Index + match.Length;
        }

        output.AddRange(Encoding.UTF8.GetBytes(text[last..]));
        return [.. output];
    }

    /// <summary>A string value standing for raw bytes (any JSON or none) until <see cref="Render"/> puts them in.</summary>
    private static JsonValue Placeholder(List<byte[]> raw, byte[] value)
    {
        raw.Add(value);
        return JsonValue.Create($"\u0001{raw.Count - 1}\u0001");
    }

    [GeneratedRegex("\"\\\\u0001(\\d+)\\\\u0001\"")]
    private static partial Regex PlaceholderPattern();

    private static void Collect(JsonNode node, List<(JsonNode, string?, int)> slots)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToList())
                {
                    slots.Add((obj, key, -1));
                    if (value is not null)
                    {
                        Collect(value, slots);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    slots.Add((array, null, i));
                    if (array[i] is { } item)
                    {
                        Collect(item, slots);
                    }
                }

                break;
        }
    }

    private static void Set(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (key is not null)
        {
            parent[key] = value;
        }
        else
        {
            parent[index] = value;
        }
    }

    private static void Remove(JsonNode parent, string? key, int index)
    {
        if (key is not null)
        {
            parent.AsObject().Remove(key);
        }
        else
        {
            parent.AsArray().RemoveAt(index);
        }
    }

    /// <summary>A value of the right JSON type but wrong content: a key one byte short or long, a flipped signature, an edge number.</summary>
    private static (string, byte[])? Subtle(Random random, JsonNode? current)
    {
        if (current is JsonValue value && value.TryGetValue(out string? text) && TryBase64(text) is { Length: > 0 } bytes)
        {
            var changed = random.Next(4) switch
            {
                0 => bytes[..^1],
                1 => [.. bytes, 0],
                2 => Flip(bytes, 0),
                _ => Flip(bytes, random.Next(bytes.Length)),
            };
            return ($"base64 of {changed.Length} bytes (was {bytes.Length})", Quote(Convert.ToBase64String(changed)));
        }

        if (current is JsonValue number && number.TryGetValue(out long _))
        {
            var edge = Pick(random, ["0", "-1", "16380", "16381", "16777215", "16777216", "4294967295", "4294967296", "2147483647", "2147483648"]);
            return ($"number {edge}", Encoding.ASCII.GetBytes(edge));
        }

        if (current is JsonArray array && array.Count > 0)
        {
            var times = Pick(random, [101, 150, 1000]);
            var repeated = string.Join(',', Enumerable.Repeat(array[0]?.ToJsonString() ?? "null", times));
            return ($"{times} copies of the first item", Encoding.UTF8.GetBytes($"[{repeated}]"));
        }

        return null;
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = bytes.ToArray();
        copy[at] ^= 0x5A;
        return copy;
    }

    private static byte[]? TryBase64(string? text)
    {
        if (text is null || text.Length < 4)
        {
            return null;
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A value no valid request has there: any JSON type, edge numbers, huge strings and arrays, broken strings.</summary>
    private static (string, byte[]) Nasty(Random random, JsonNode? current)
    {
        switch (random.Next(12))
        {
            case 0:
                var literal = Pick(random, ["null", "true", "false", "{}", "[]", "\"\"", "\"a\"", "[null]", "[{}]", "{\"a\":1}"]);
                return (literal, Encoding.ASCII.GetBytes(literal));
            case 1:
            case 2:
                var number = Pick(random, [
                    "0", "-0", "-1", "1.5", "1e3", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807",
                    "9223372036854775808", "-9223372036854775809", "1e308", "1e400", "-1e400", "1E-400", "123456789012345678901234567890",
                    "00", "0x10", "NaN", "Infinity", "+1", "- 1", ".5", "5.",
                ]);
                return ($"number {number}", Encoding.ASCII.GetBytes(number));
            case 3:
                var broken = Pick(random, [
                    "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"a\\ud83d\"", "\"\\ud83dx\"", "\"\\u0000\"", "\"\\u00\"", "\"\\x41\"", "\"\t\n\"", "\"\\\"",
                ]);
                return ($"string {broken}", Encoding.ASCII.GetBytes(broken));
            case 4:
                var bad = BadUtf8[random.Next(BadUtf8.Length)];
                return ($"string with invalid UTF-8 {Convert.ToHexString(bad)}", [(byte)'"', (byte)'a', .. bad, (byte)'b', (byte)'"']);
            case 5:
                var length = Pick(random, [300, 5000, 70_000, 300_000]);
                var filler = random.Next(3) switch
                {
                    0 => new string('A', length),
                    1 => Convert.ToBase64String(RandomBytes(random, length * 3 / 4)),
                    _ => string.Concat(Enumerable.Repeat("\\u00e9", length / 6)),
                };
                return ($"string of {length} characters", Quote(filler, escape: false));
            case 6:
                var base64 = Pick(random, ["!!!!", "AAA", "AAAA=", "AA==AA==", "-_-_", "AAAA AAAA", "AAAA\\nAAAA", "====", "A", "BQ", "\\u0041AAA"]);
                return ($"bad base64 {base64}", Quote(base64, escape: false));
            case 7:
                var size = Pick(random, [0, 1, 31, 32, 33, 34, 63, 64, 65, 1568, 1569, 1570, 4096]);
                var key = RandomBytes(random, size);
                if (size > 0)
                {
                    key[0] = Pick(random, [(byte)0x05, (byte)0x08, (byte)0x06, key[0]]);
                }

                return ($"base64 of {size} bytes", Quote(Convert.ToBase64String(key)));
            case 8:
                var items = Pick(random, [101, 1000, 20_000]);
                var item = Pick(random, ["0", "null", "{}", "\"x\"", current?.ToJsonString() ?? "1"]);
                return ($"array of {items} × {(item.Length > 20 ? "the value" : item)}", Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat(item, items)) + "]"));
            case 9:
                var depth = Pick(random, [65, 200, 5000]);
                return random.Next(2) == 0
                    ? ($"arrays nested {depth} deep", Encoding.ASCII.GetBytes(new string('[', depth) + new string(']', depth)))
                    : ($"objects nested {depth} deep", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)));
            case 10:
                var number2 = Pick(random, ["\"1\"", "\"-1\"", "\"1e3\"", "\"0x1\"", "\" 1\""]);
                return ($"number as string {number2}", Encoding.ASCII.GetBytes(number2));
            default:
                var garbage = Pick(random, ["{", "}", "]", ",", ":", "'a'", "undefined", "/*x*/1", "1 2", "\"a\" \"b\""]);
                return ($"not JSON {garbage}", Encoding.ASCII.GetBytes(garbage));
        }
    }

    /// <summary>A whole body that is no JSON object at all, or the seed's broken at the byte level.</summary>
    private static byte[] WholeBody(Random random, byte[] seed, List<string> what)
    {
        var cut = seed.Length == 0 ? 0 : random.Next(seed.Length);
        var (label, body) = random.Next(14) switch
        {
            0 => ("empty", Array.Empty<byte>()),
            1 => ("a JSON scalar or array", Encoding.ASCII.GetBytes(Pick(random, ["null", "[]", "\"s\"", "0", "true", "[{}]"]))),
            2 => ($"cut at {cut}", seed[..cut]),
            3 => ("random bytes", RandomBytes(random, random.Next(1, 3000))),
            4 => ("invalid UTF-8 inside", [.. seed[..cut], .. BadUtf8[random.Next(BadUtf8.Length)], .. seed[cut..]]),
            5 => ("a UTF-8 BOM first", [0xEF, 0xBB, 0xBF, .. seed]),
            6 => ("UTF-16", Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(seed))),
            7 => ("garbage after the JSON", [.. seed, .. "x}{"u8]),
            8 => ("a comment first", [.. "/*c*/"u8, .. seed]),
            9 => ("a trailing comma", [.. seed[..^1], .. ",}"u8]),
            10 => ("a megabyte of whitespace", [.. Enumerable.Repeat((byte)' ', 1 << 20), .. "{}"u8]),
            11 => ("arrays nested 10,000 deep", Encoding.ASCII.GetBytes(new string('[', 10_000))),
            12 => ("NUL bytes", new byte[random.Next(1, 500)]),
            _ => ("the JSON twice", [.. seed, .. seed]),
        };
        what.Add("body " + label);
        return body;
    }

    private static byte[] Chunked(Random random, byte[] body, bool valid)
    {
        var output = new List<byte>();
        var at = 0;
        while (at < body.Length)
        {
            var size = Math.Min(body.Length - at, random.Next(1, 600));
            output.AddRange(Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            output.AddRange(body.AsSpan(at, size).ToArray());
            output.AddRange("\r\n"u8.ToArray());
            at += size;
        }

        if (valid)
        {
            output.AddRange("0\r\n\r\n"u8.ToArray());
            return [.. output];
        }

        return random.Next(6) switch
        {
            0 => [.. "zz\r\nabc\r\n0\r\n\r\n"u8],
            1 => [.. "FFFFFFFFFFFFFFFFFF\r\nabc"u8],
            2 => [.. "5\r\nabcdefghij0\r\n\r\n"u8],
            3 => [.. output, .. "0;ext=\u00ff\"\r\nTrailer\0: x\r\n\r\n"u8],
            4 => [.. "-1\r\n\r\n"u8],
            _ => [.. output],
        };
    }

    private static IEnumerable<byte[]> Split(Random random, byte[] whole)
    {
        var at = 0;
        while (at < whole.Length)
        {
            var size = Math.Min(whole.Length - at, random.Next(1, 64));
            yield return whole[at..(at + size)];
            at += size;
        }
    }

    private static bool IsJson(Seed seed) => seed.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;

    private static byte[] Quote(string text, bool escape = true) =>
        Encoding.UTF8.GetBytes(escape ? System.Text.Json.JsonSerializer.Serialize(text) : $"\"{text}\"");

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    internal static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    internal static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
}
