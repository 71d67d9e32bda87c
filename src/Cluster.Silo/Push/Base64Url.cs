namespace Cluster.Silo.Push;

/// <summary>base64url (RFC 4648 §5) without padding, as Web Push and JWT use it; also accepts padded and standard base64.</summary>
internal static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Decodes, or throws <see cref="FormatException"/>.</summary>
    public static byte[] Decode(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/').TrimEnd('=');
        s = (s.Length % 4) switch { 2 => s + "==", 3 => s + "=", 0 => s, _ => throw new FormatException("not base64url") };
        return Convert.FromBase64String(s);
    }
}
