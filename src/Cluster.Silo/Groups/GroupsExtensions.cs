using Cluster.Grains.Groups;

namespace Cluster.Silo.Groups;

/// <summary>The groups feature's one wiring point.</summary>
internal static class GroupsExtensions
{
    public static WebApplicationBuilder AddGroups(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<GroupOptions>().BindConfiguration(GroupOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Cluster.Grains.Accounts.IAccountDeletionStep, GroupDeletionStep>();
        builder.Services.AddOptions<GroupLimitOptions>().BindConfiguration(GroupLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<GroupLimits>();
        builder.Services.AddSingleton<GroupSends>();
        builder.Services.AddHostedService<GroupBodySweeper>();
        return builder;
    }

    public static IEndpointRouteBuilder MapGroups(this IEndpointRouteBuilder v1)
    {
        GroupEndpoints.Map(v1);
        GroupSendEndpoints.Map(v1);
        return v1;
    }
}
