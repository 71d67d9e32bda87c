using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Groups;

/// <summary>
/// <c>PUT /v1/groups/{groupId}/messages</c> over HTTP: the route only; the send is <see cref="GroupSends"/>'s (the path
/// the device socket's <c>sendGroupMessage</c> requests take too), read from the HTTP body. Owns nothing.
/// </summary>
internal static class GroupSendEndpoints
{
    public static void Map(IEndpointRouteBuilder v1) =>
        v1.MapPut("/groups/{groupId}/messages", SendAsync).Operation("sendGroupMessage", "Groups", "Send one sender-key message to every device of every member but this one").Accepts<SendGroupMessageRequest>().Returns<SendGroupMessageResponse>().Errors(400, 403, 404, 409, 410, 413, 429).RequireAuthorization();

    private static async Task<IResult> SendAsync(HttpContext context, string groupId, GroupSends sends)
    {
        var device = context.Device();
        return (await sends.SendAsync(device.Address, device.Credential, groupId, JsonRequestBody.Http(context))).ToResult();
    }
}
