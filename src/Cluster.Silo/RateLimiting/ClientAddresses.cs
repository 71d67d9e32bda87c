using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using IPNetwork = System.Net.IPNetwork;

namespace Cluster.Silo.RateLimiting;

/// <summary>Who the client is, for the per-client-address limits; section <c>ClientAddresses</c>.</summary>
public sealed class ClientAddressOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "ClientAddresses";

    /// <summary>
    /// Take the client's address from <c>X-Forwarded-For</c> when the request comes from one of
    /// <see cref="KnownProxies"/> or <see cref="KnownNetworks"/> (a load balancer or reverse proxy in front of the silo).
    /// Off, the address is the TCP peer's, and a client cannot claim another one. Default: false.
    /// </summary>
    public bool TrustForwardedHeaders { get; set; }

    /// <summary>The proxies whose <c>X-Forwarded-For</c> is believed, as IP addresses. Default: none.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>The networks whose <c>X-Forwarded-For</c> is believed, in CIDR notation (<c>10.0.0.0/8</c>). Default: none.</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many proxies, from the silo outwards, <c>X-Forwarded-For</c> is read through. Default: 1.</summary>
    [Range(1, 16)]
    public int ForwardLimit { get; set; } = 1;

    /// <summary>
    /// IPv6 clients are limited per network of this prefix length, since one host commonly holds a whole /64.
    /// Default: 64.
    /// </summary>
    [Range(16, 128)]
    public int IPv6PrefixLength { get; set; } = 64;
}

internal sealed class ClientAddressOptionsValidator : IValidateOptions<ClientAddressOptions>
{
    public ValidateOptionsResult Validate(string? name, ClientAddressOptions options)
    {
        var failures = new List<string>();
        var key = ClientAddressOptions.SectionName;
        foreach (var proxy in options.KnownProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"{key}:KnownProxies: '{proxy}' is not an IP address.");
            }
        }

        foreach (var network in options.KnownNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                failures.Add($"{key}:KnownNetworks: '{network}' is not a network in CIDR notation (10.0.0.0/8).");
            }
        }

        if (options.TrustForwardedHeaders && options.KnownProxies.Count == 0 && options.KnownNetworks.Count == 0)
        {
            failures.Add($"{key}:TrustForwardedHeaders: names no proxy to trust; set {key}:KnownProxies or {key}:KnownNetworks.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The key a client is limited by: its IP address (after a trusted proxy's <c>X-Forwarded-For</c>), an IPv6 one cut to its network.</summary>
internal sealed class ClientAddresses(IOptions<ClientAddressOptions> options)
{
    private readonly int prefixLength = options.Value.IPv6PrefixLength;

    public string KeyOf(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "-";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6 && prefixLength < 128
            ? new IPNetwork(Masked(address, prefixLength), prefixLength).ToString()
            : address.ToString();
    }

    private static IPAddress Masked(IPAddress address, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        for (var bit = prefixLength; bit < 128; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }
}
