<?xml version="1.0" encoding="UTF-8"?>
<core:CityModel xmlns:brid="http://www.opengis.net/citygml/bridge/2.0" xmlns:tran="http://www.opengis.net/citygml/transportation/2.0" xmlns:urf="https://www.geospatial.jp/iur/urf/2.0" xmlns:frn="http://www.opengis.net/citygml/cityfurniture/2.0" xmlns:wtr="http://www.opengis.net/citygml/waterbody/2.0" xmlns:sch="http://www.ascc.net/xml/schematron" xmlns:veg="http://www.opengis.net/citygml/vegetation/2.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:tun="http://www.opengis.net/citygml/tunnel/2.0" xmlns:tex="http://www.opengis.net/citygml/texturedsurface/2.0" xmlns:gml="http://www.opengis.net/gml" xmlns:gen="http://www.opengis.net/citygml/generics/2.0" xmlns:dem="http://www.opengis.net/citygml/relief/2.0" xmlns:app="http://www.opengis.net/citygml/appearance/2.0" xmlns:luse="http://www.opengis.net/citygml/landuse/2.0" xmlns:xAL="urn:oasis:names:tc:ciq:xsdschema:xAL:2.0" xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:smil20="http://www.w3.org/2001/SMIL20/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:smil20lang="http://www.w3.org/2001/SMIL20/Language" xmlns:pbase="http://www.opengis.net/citygml/profiles/base/2.0" xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:grp="http://www.opengis.net/citygml/cityobjectgroup/2.0" xsi:schemaLocation="https://www.geospatial.jp/iur/urf/2.0 ../../schemas/iur/urf/2.0/urbanFunction.xsd http://www.opengis.net/citygml/2.0 http://schemas.opengis.net/citygml/2.0/cityGMLBase.xsd http://www.opengis.net/citygml/landuse/2.0 http://schemas.opengis.net/citygml/landuse/2.0/landUse.xsd http://www.opengis.net/citygml/building/2.0 http://schemas.opengis.net/citygml/building/2.0/building.xsd http://www.opengis.net/citygml/transportation/2.0 http://schemas.opengis.net/citygml/transportation/2.0/transportation.xsd http://www.opengis.net/citygml/generics/2.0 http://schemas.opengis.net/citygml/generics/2.0/generics.xsd http://www.opengis.net/citygml/cityobjectgroup/2.0 http://schemas.opengis.net/citygml/cityobjectgroup/2.0/cityObjectGroup.xsd http://www.opengis.net/gml http://schemas.opengis.net/gml/3.1.1/base/gml.xsd">
	<gml:boundedBy>
		<gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" srsDimension="3">
			<gml:lowerCorner>38.227149636085905 140.88380729558475 0</gml:lowerCorner>
			<gml:upperCorner>38.240107376150284 140.88846876688515 0</gml:upperCorner>
		</gml:Envelope>
	</gml:boundedBy>
	<core:cityObjectMember>
		<urf:HighLevelUseDistrict gml:id="urf_edcda923-1182-4e58-a8e9-3e791ff15278">
			<gml:name>河原町一丁目西地区</gml:name>
			<core:creationDate>2023-03-22</core:creationDate>
			<urf:function codeSpace="../../codelists/Common_districtsAndZonesType.xml">19</urf:function>
			<urf:validFrom>2013-03-08</urf:validFrom>
			<urf:validFromType codeSpace="../../codelists/Common_validType.xml">3</urf:validFromType>
			<urf:custodian>仙台市</urf:custodian>
			<urf:notificationNumber>仙台市告示第107号</urf:notificationNumber>
			<urf:prefecture codeSpace="../../codelists/Common_localPublicAuthorities.xml">04</urf:prefecture>
			<urf:city codeSpace="../../codelists/Common_localPublicAuthorities.xml">04100</urf:city>
			<urf:lod1MultiSurface>
				<gml:MultiSurface>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>38.24004413176304 140.88814693713795 0 38.24002350276813 140.888009999602 0 38.240107376150284 140.88747744843772 0 38.24006724487997 140.8874982865142 0 38.24005810734101 140.8874704559534 0 38.23997499945854 140.8875746340019 0 38.23991664523043 140.88772710936473 0 38.23981123254062 140.8876657823884 0 38.239734723950285 140.88750757178357 0 38.23908439049293 140.88797715589834 0 38.239110696904724 140.88801688187917 0 38.23934098621436 140.88836017821683 0 38.23938302736392 140.88846876688515 0 38.239730135193646 140.88827716276697 0 38.23983996455776 140.88822992023034 0 38.24004413176304 140.88814693713795 0</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</urf:lod1MultiSurface>
			<urf:maximumFloorAreaRate>4</urf:maximumFloorAreaRate>
			<urf:minimumFloorAreaRate>2</urf:minimumFloorAreaRate>
			<urf:maximumBuildingCoverageRate>0.5</urf:maximumBuildingCoverageRate>
			<urf:minimumBuildingArea uom="m2">200</urf:minimumBuildingArea>
		</urf:HighLevelUseDistrict>
	</core:cityObjectMember>
	<core:cityObjectMember>
		<urf:HighLevelUseDistrict gml:id="urf_3c6ebc13-148e-4935-a3b0-bcc6219caae9">
			<gml:name>長町三丁目地区</gml:name>
			<core:creationDate>2023-03-22</core:creationDate>
			<urf:function codeSpace="../../codelists/Common_districtsAndZonesType.xml">19</urf:function>
			<urf:validFrom>2013-03-08</urf:validFrom>
			<urf:validFromType codeSpace="../../codelists/Common_validType.xml">3</urf:validFromType>
			<urf:custodian>仙台市</urf:custodian>
			<urf:notificationNumber>仙台市告示第107号</urf:notificationNumber>
			<urf:prefecture codeSpace="../../codelists/Common_localPublicAuthorities.xml">04</urf:prefecture>
			<urf:city codeSpace="../../codelists/Common_localPublicAuthorities.xml">04100</urf:city>
			<urf:lod1MultiSurface>
				<gml:MultiSurface>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>38.22866417513452 140.88490266429744 0 38.22869317507926 140.8849027521632 0 38.2291031196377 140.88490412557 0 38.229103740314706 140.8847749982975 0 38.229101264426355 140.88432895764947 0 38.228952595537564 140.8843459423784 0 38.22883600669108 140.8844011367388 0 38.22874915800396 140.88437651866988 0 38.22866417513452 140.88490266429744 0</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</urf:lod1MultiSurface>
			<urf:maximumFloorAreaRate>5</urf:maximumFloorAreaRate>
			<urf:minimumFloorAreaRate>2</urf:minimumFloorAreaRate>
			<urf:maximumBuildingCoverageRate>0.7</urf:maximumBuildingCoverageRate>
			<urf:minimumBuildingArea uom="m2">200</urf:minimumBuildingArea>
		</urf:HighLevelUseDistrict>
	</core:cityObjectMember>
	<core:cityObjectMember>
		<urf:HighLevelUseDistrict gml:id="urf_466e117d-2350-45ff-af40-c572b3f8c4e5">
			<gml:name>長町駅前第一地区</gml:name>
			<core:creationDate>2023-03-22</core:creationDate>
			<urf:function codeSpace="../../codelists/Common_districtsAndZonesType.xml">19</urf:function>
			<urf:validFrom>2013-03-08</urf:validFrom>
			<urf:validFromType codeSpace="../../codelists/Common_validType.xml">3</urf:validFromType>
			<urf:custodian>仙台市</urf:custodian>
			<urf:notificationNumber>仙台市告示第107号</urf:notificationNumber>
			<urf:prefecture codeSpace="../../codelists/Common_localPublicAuthorities.xml">04</urf:prefecture>
			<urf:city codeSpace="../../codelists/Common_localPublicAuthorities.xml">04100</urf:city>
			<urf:lod1MultiSurface>
				<gml:MultiSurface>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>38.22866417513452 140.88490266429744 0 38.22874915800396 140.88437651866988 0 38.22877709303359 140.8842395641281 0 38.22880076309113 140.8841952300311 0 38.22848094442058 140.88413039775233 0 38.22821673247187 140.8840680706632 0 38.228043753480556 140.88398227704351 0 38.227885006121106 140.88386986812574 0 38.2278331181216 140.88405439491245 0 38.227218872112736 140.88380729558475 0 38.227149636085905 140.8840661415835 0 38.22737357261349 140.88415890283898 0 38.22760877118058 140.88425209055447 0 38.22753139495945 140.884767970957 0 38.2275314719084 140.88491087181154 0 38.22789876309398 140.8849080267075 0 38.22861152347862 140.88490250947532 0 38.22866417513452 140.88490266429744 0</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</urf:lod1MultiSurface>
			<urf:maximumFloorAreaRate>5</urf:maximumFloorAreaRate>
			<urf:minimumFloorAreaRate>2</urf:minimumFloorAreaRate>
			<urf:maximumBuildingCoverageRate>0.7</urf:maximumBuildingCoverageRate>
			<urf:minimumBuildingArea uom="m2">200</urf:minimumBuildingArea>
		</urf:HighLevelUseDistrict>
	</core:cityObjectMember>
</core:CityModel>