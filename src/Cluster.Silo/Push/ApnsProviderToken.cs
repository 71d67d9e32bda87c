using System.Security.Cryptography;

namespace Cluster.Silo.Push;

/// <summary>
/// The APNs provider authentication token: an ES256 JWT with <c>kid</c> (the key id) in its header and <c>iss</c> (the
/// team id) and <c>iat</c> in its claims, signed by the <c>.p8</c> key. Apple refuses one older than an hour
/// (<c>ExpiredProviderToken</c>) and one replaced more often than every 20 minutes (<c>TooManyProviderTokenUpdates</c>),
/// so the token is reused and replaced after <see cref="Lifetime"/>, or earlier when APNs calls it expired. Holds the
/// key and the current token (changed under its own lock); thread-safe.
/// </summary>
internal sealed class ApnsProviderToken : IDisposable
{
    /// <summary>How long one token is used: between Apple's 20-minute floor and one-hour ceiling.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(50);

    private readonly ECDsa key;
    private readonly string keyId;
    private readonly string teamId;
    private readonly Lock gate = new();

    // The token in use and when it was issued: replaced by Current when older than Lifetime, cleared by Expire.
    private (string Token, DateTimeOffset IssuedAt)? current;

    public ApnsProviderToken(ApnsOptions options)
    {
        key = LoadKey(options);
        keyId = options.KeyId!;
        teamId = options.TeamId!;
    }

    /// <summary>The options' <c>.p8</c> key (PEM PKCS#8, P-256); throws <see cref="ArgumentException"/>, <see cref="IOException"/> or <see cref="CryptographicException"/>.</summary>
    public static ECDsa LoadKey(ApnsOptions options)
    {
        var pem = !string.IsNullOrEmpty(options.PrivateKeyFile) ? File.ReadAllText(options.PrivateKeyFile) : options.PrivateKey ?? "";
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256)
            {
                throw new CryptographicException("not a P-256 key");
            }

            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The token to send at <paramref name="now"/>.</summary>
    public string Current(DateTimeOffset now)
    {
        lock (gate)
        {
            if (current is { } token && now - token.IssuedAt < Lifetime && now >= token.IssuedAt)
            {
                return token.Token;
            }

            var issued = Jwt.Create(
                header =>
                {
                    header.WriteString("alg"u8, "ES256"u8);
                    header.WriteString("kid"u8, keyId);
                },
                claims =>
                {
                    claims.WriteString("iss"u8, teamId);
                    claims.WriteNumber("iat"u8, now.ToUnixTimeSeconds());
                },
                input => key.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
            current = (issued, now);
            return issued;
        }
    }

    /// <summary>APNs answered <c>ExpiredProviderToken</c> for <paramref name="token"/>: the next request signs a new one.</summary>
    public void Expire(string token)
    {
        lock (gate)
        {
            if (current?.Token == token)
            {
                current = null;
            }
        }
    }

    public void Dispose() => key.Dispose();
}
