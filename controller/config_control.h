// Config control: DescribeConfigs and IncrementalAlterConfigs (after Kafka's
// ConfigurationControlManager). Pure functions of the image and the request.
//
// TOPIC resources: keys are the known topic configs (topic_config.h); a
// value is the topic's override (source TOPIC_CONFIG) or the built-in
// default (DEFAULT_CONFIG).
// BROKER resources (name = broker id in decimal, or "" for the cluster-wide
// default): only dynamic overrides are known to the controller; any key is
// accepted (the broker validates its own keys) but values must be non-empty.
//
// IncrementalAlterConfigs applies each resource's changes atomically: all
// keys valid, or no record. Errors per resource: INVALID_REQUEST (bad type
// or name, key twice, unsupported op), DUPLICATE_RESOURCE,
// UNKNOWN_TOPIC_OR_PARTITION, RESOURCE_NOT_FOUND (unregistered broker),
// INVALID_CONFIG.
#pragma once

#include "controller/controller_result.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/controller.pb.h"

namespace fjord::controller {

v1::DescribeConfigsResponse DescribeConfigs(const MetadataImage& image,
                                            const v1::DescribeConfigsRequest& req);

ControllerResult<v1::IncrementalAlterConfigsResponse> IncrementalAlterConfigs(
    const MetadataImage& image, const v1::IncrementalAlterConfigsRequest& req);

}  // namespace fjord::controller
