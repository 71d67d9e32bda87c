namespace Cluster.Silo.Accounts;

/// <summary>The accounts feature's one wiring point: registration and the account's own device list. Nothing to register.</summary>
internal static class AccountsExtensions
{
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder v1)
    {
        AccountEndpoints.Map(v1);
        return v1;
    }
}
