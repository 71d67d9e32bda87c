using System.Text;
using Cluster.Abstractions.Provisioning;
using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Provisioning;

/// <summary>Steps 1 and 2 of linking a companion: the new device's provisioning socket, and the primary's relay to it.</summary>
internal static class ProvisioningEndpoints
{
    /// <summary>The largest provisioning body, in UTF-8 bytes: 256 KiB.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    // Room for the largest body with every character escaped as \uXXXX, plus the JSON around it.
    private const long MaxRequestBytes = MaxBodyBytes * 6L + 4096;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.Map("/provisioning", (HttpContext context, ProvisioningSockets sockets) => sockets.AcceptAsync(context))
            .ExcludeFromDescription()
            .RequireRateLimiting(AnonymousLimits.ProvisioningPolicy);
        v1.MapPut("/provisioning/{address}", ProvisionAsync).Operation("provision", "Provisioning", "Send the encrypted provisioning message to a waiting new device (QR flow)").Accepts<ProvisionRequest>().ReturnsNothing().Errors(400, 403, 404, 413, 429).RequireAuthorization();
    }

    private static async Task<IResult> ProvisionAsync(HttpContext context, string address, IGrainFactory grains)
    {
        if (!context.Device().Address.IsPrimary)
        {
            throw ApiException.Forbidden("only the primary device provisions a new device");
        }

        JsonBody.LimitBody(context, MaxRequestBytes);
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.ProvisionRequest);
        var body = request.Body ?? throw ApiException.MissingField("body");
        if (body.Length == 0)
        {
            throw ApiException.InvalidField("body", "must not be empty");
        }

        if (Encoding.UTF8.GetByteCount(body) > MaxBodyBytes)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"body: over {MaxBodyBytes} bytes", "body");
        }

        // A malformed address cannot have a device waiting at it: no grain is activated for it.
        if (!RandomIds.IsValid(address) || !await grains.GetGrain<IProvisioningGrain>(address).ProvisionAsync(body))
        {
            throw new ApiException(StatusCodes.Status404NotFound, "not_found", "no device waits at this provisioning address");
        }

        return Results.NoContent();
    }
}
