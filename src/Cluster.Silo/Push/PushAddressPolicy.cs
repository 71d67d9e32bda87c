using System.Net;
using System.Net.Sockets;

namespace Cluster.Silo.Push;

/// <summary>
/// The SSRF rule for client-supplied push endpoints: an endpoint is an absolute <c>https</c> URL of at most
/// <see cref="WebPushOptions.MaxEndpointLength"/> characters, with no user info, whose host is a DNS name (or a public IP
/// literal), in <see cref="WebPushOptions.AllowedHosts"/> when that is set; and the sender connects only to public
/// addresses: every address the host resolves to is checked when the connection is made (so DNS rebinding does not
/// help), and loopback, private, link-local, CGNAT, multicast and unspecified addresses are refused. Redirects are
/// never followed. <see cref="WebPushOptions.AllowHttpLoopback"/> (test silos) allows <c>http</c> and loopback only.
/// </summary>
internal sealed class PushAddressPolicy(WebPushOptions options)
{
    /// <summary>Checks a registered endpoint; null when it may be used, otherwise the problem.</summary>
    public string? Check(string endpoint)
    {
        if (endpoint.Length > options.MaxEndpointLength)
        {
            return $"must be at most {options.MaxEndpointLength} characters";
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return "must be an absolute URL without user info or fragment";
        }

        var loopbackHttp = options.AllowHttpLoopback && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
        if (uri.Scheme != Uri.UriSchemeHttps && !loopbackHttp)
        {
            return "must be an https URL";
        }

        if (IPAddress.TryParse(uri.IdnHost, out var literal) && !IsAllowed(literal))
        {
            return "must not name a private, loopback or link-local address";
        }

        if (options.AllowedHosts.Count > 0 && !loopbackHttp && !options.AllowedHosts.Exists(h => HostMatches(uri.IdnHost, h)))
        {
            return "names a push service this server does not deliver to";
        }

        return null;
    }

    /// <summary>Whether the sender may connect to <paramref name="address"/>.</summary>
    public bool IsAllowed(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return options.AllowHttpLoopback;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || (b[0] == 100 && b[1] >= 64 && b[1] < 128) || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] >= 16 && b[1] < 32) || (b[0] == 192 && b[1] == 168) || b[0] >= 224
                || (b[0] == 192 && b[1] == 0 && b[2] == 0) || (b[0] == 198 && (b[1] == 18 || b[1] == 19)));
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(address.Equals(IPAddress.IPv6None) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC);
        }

        return false;
    }

    /// <summary>The sender's connect step: resolves the host and connects only to allowed addresses.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = Array.FindAll(addresses, IsAllowed);
        if (allowed.Length == 0)
        {
            throw new PushAddressRefusedException();
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static bool HostMatches(string host, string allowed) =>
        host.Equals(allowed, StringComparison.OrdinalIgnoreCase) || host.EndsWith("." + allowed, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The push endpoint's host resolved only to addresses the policy refuses.</summary>
internal sealed class PushAddressRefusedException : IOException
{
    public PushAddressRefusedException()
        : base("the push endpoint resolves to no public address")
    {
    }
}
